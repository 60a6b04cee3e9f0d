r"""Networks for complex channel arrays: a residual MLP and a patch-token transformer.

Both map real features of a (preconditioned) noisy channel, a noise-level embedding of
$\log\sigma$ and, optionally, an observation $y$ to real output features of the same
shape as the channel features. Complex entries enter as stacked real and imaginary parts
(scaled by $\sqrt 2$ so unit-power complex data gives unit-variance features).

Conditioning uses a learned NULL embedding in place of $y$, so one network gives both the
conditional and the unconditional noise prediction (classifier-free guidance): during
training the condition is replaced by NULL with probability `p_uncond`.

With `denoising=False` the same backbone is the discriminative estimator: the output is a
function of $y$ alone (the transformer's decoder then queries with positional encodings
only, as the supervised baseline of "Score-based channel estimation and Bayesian precoding"
does).

References
----------
Vaswani et al., "Attention is all you need" (the encoder/decoder); Ho and Salimans,
"Classifier-free diffusion guidance" (the NULL token).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .._validation import check_choice

__all__ = [
    "NoiseEmbedding",
    "MLPDenoiserNet",
    "TransformerDenoiserNet",
    "build_network",
    "resolve_kind",
    "resolve_patch_size",
]

# an MLP is the better default until a channel has this many complex entries
AUTO_MLP_MAX_ENTRIES = 64


class NoiseEmbedding(nn.Module):
    r"""Embedding of $c = \log(\sigma) / 4$: Fourier features $\sin(2\pi f c), \cos(2\pi f c)$
    on geometric frequencies, then a two-layer MLP."""

    def __init__(self, dim: int, n_freq: int = 16) -> None:
        super().__init__()
        self.register_buffer("freqs", torch.logspace(-1.0, 1.0, n_freq) * (2 * math.pi))
        self.mlp = nn.Sequential(nn.Linear(2 * n_freq + 1, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, c_noise: torch.Tensor) -> torch.Tensor:
        arg = c_noise[:, None] * self.freqs
        return self.mlp(torch.cat([c_noise[:, None], arg.sin(), arg.cos()], dim=-1))


def _zero_(layer: nn.Linear) -> nn.Linear:
    # a zero output head starts the denoiser at the exact answer for a white prior
    nn.init.zeros_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


class _ResBlock(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, width)
        self.emb = nn.Linear(width, width)
        self.fc2 = nn.Linear(width, width)

    def forward(self, h: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        u = nn.functional.silu(self.fc1(self.norm(h)) + self.emb(emb))
        return h + self.fc2(u)


class _Condition(nn.Module):
    """Flattened observation features -> embedding, or the learned NULL embedding."""

    def __init__(self, obs_features: int, dim: int) -> None:
        super().__init__()
        self.proj = nn.Sequential(nn.Linear(obs_features, dim), nn.SiLU(), nn.Linear(dim, dim))
        self.null = nn.Parameter(torch.randn(dim) * 0.02)

    def forward(self, y_feat, keep, batch: int) -> torch.Tensor:
        null = self.null.expand(batch, -1)
        if y_feat is None:
            return null
        emb = self.proj(y_feat)
        return emb if keep is None else torch.where(keep[:, None], emb, null)


class MLPDenoiserNet(nn.Module):
    r"""Residual MLP on the flattened channel (one token holding every entry).

    Parameters
    ----------
    channel_shape : tuple of int
        Shape of one complex channel.
    obs_shape : tuple of int or None
        Shape of one complex observation; None for an unconditional network.
    width, n_blocks : int
        Hidden width and number of residual blocks.
    denoising : bool
        False builds the discriminative estimator (output from $y$ alone).
    """

    def __init__(
        self,
        channel_shape,
        obs_shape=None,
        *,
        width: int = 256,
        n_blocks: int = 3,
        denoising: bool = True,
    ) -> None:
        super().__init__()
        self.channel_shape = tuple(channel_shape)
        self.obs_shape = None if obs_shape is None else tuple(obs_shape)
        self.denoising = denoising
        self.n_tokens = 1
        n_feat = 2 * math.prod(self.channel_shape)
        if denoising:
            self.x_in = nn.Linear(n_feat, width)
            self.noise = NoiseEmbedding(width)
        elif self.obs_shape is None:
            raise ValueError("obs_shape is required for an estimator network")
        self.cond = (
            _Condition(2 * math.prod(self.obs_shape), width) if self.obs_shape is not None else None
        )
        self.blocks = nn.ModuleList(_ResBlock(width) for _ in range(n_blocks))
        self.out = nn.Sequential(nn.LayerNorm(width), nn.SiLU(), _zero_(nn.Linear(width, n_feat)))

    def forward(self, x_feat, c_noise, y_feat=None, keep=None) -> torch.Tensor:
        """(B, 1, 2n) features, (B,) noise levels, (B, 2m) observation features -> (B, 1, 2n)."""
        batch = (x_feat if x_feat is not None else y_feat).shape[0]
        emb = 0.0
        if self.denoising:
            emb = self.noise(c_noise)
        if self.cond is not None:
            emb = emb + self.cond(y_feat, keep, batch)
        h = self.x_in(x_feat[:, 0]) + emb if self.denoising else emb
        for block in self.blocks:
            h = block(h, emb)
        return self.out(h)[:, None]


class TransformerDenoiserNet(nn.Module):
    r"""Patch-token transformer encoder/decoder.

    The channel is flattened in row-major order and cut into tokens of `patch_size` complex
    entries ($2 \times$ `patch_size` real features, by default one token per row of the last
    axis, e.g. per receive antenna and subcarrier with the transmit antennas as the patch).
    Tokens are linearly embedded, get a learnable additive positional encoding and the
    noise embedding, and pass through a decoder whose cross-attention reads a memory of the
    noise token and the encoded observation (or the NULL token). The observation is cut into
    tokens of `obs_patch_size` entries (zero-padded) and encoded by a transformer encoder.

    Parameters
    ----------
    channel_shape, obs_shape : tuple of int (obs_shape may be None)
    d_model, n_heads, n_encoder_layers, n_decoder_layers, dim_feedforward : int
    patch_size, obs_patch_size : int
        Complex entries per channel / observation token.
    dropout : float
    denoising : bool
        False builds the discriminative estimator: the decoder queries are the positional
        encodings alone.
    """

    def __init__(
        self,
        channel_shape,
        obs_shape=None,
        *,
        d_model: int = 64,
        n_heads: int = 4,
        n_encoder_layers: int = 2,
        n_decoder_layers: int = 2,
        dim_feedforward: int = 128,
        patch_size: int | None = None,
        obs_patch_size: int | None = None,
        dropout: float = 0.0,
        denoising: bool = True,
    ) -> None:
        super().__init__()
        self.channel_shape = tuple(channel_shape)
        self.obs_shape = None if obs_shape is None else tuple(obs_shape)
        self.denoising = denoising
        n = math.prod(self.channel_shape)
        patch = resolve_patch_size(self.channel_shape, patch_size)
        self.n_tokens = n // patch
        self.pos = nn.Parameter(torch.randn(self.n_tokens, d_model) * 0.02)
        if denoising:
            self.x_in = nn.Linear(2 * patch, d_model)
            self.noise = NoiseEmbedding(d_model)
        elif self.obs_shape is None:
            raise ValueError("obs_shape is required for an estimator network")

        self.null = nn.Parameter(torch.randn(d_model) * 0.02)
        if self.obs_shape is not None:
            m = math.prod(self.obs_shape)
            self.obs_patch = min(obs_patch_size or patch, m)
            self.n_obs_tokens = -(-m // self.obs_patch)
            self.obs_in = nn.Linear(2 * self.obs_patch, d_model)
            self.obs_pos = nn.Parameter(torch.randn(self.n_obs_tokens, d_model) * 0.02)
            enc_layer = nn.TransformerEncoderLayer(
                d_model, n_heads, dim_feedforward, dropout, batch_first=True, norm_first=True
            )
            self.encoder = nn.TransformerEncoder(
                enc_layer, n_encoder_layers, norm=nn.LayerNorm(d_model), enable_nested_tensor=False
            )
        dec_layer = nn.TransformerDecoderLayer(
            d_model, n_heads, dim_feedforward, dropout, batch_first=True, norm_first=True
        )
        self.decoder = nn.TransformerDecoder(
            dec_layer, n_decoder_layers, norm=nn.LayerNorm(d_model)
        )
        self.out = _zero_(nn.Linear(d_model, 2 * patch))

    def _encode(self, y_feat: torch.Tensor) -> torch.Tensor:
        batch, n_feat = y_feat.shape
        m = n_feat // 2
        pad = self.n_obs_tokens * self.obs_patch - m
        re, im = y_feat[:, :m], y_feat[:, m:]
        if pad:
            re = nn.functional.pad(re, (0, pad))
            im = nn.functional.pad(im, (0, pad))
        shape = (batch, self.n_obs_tokens, self.obs_patch)
        tokens = torch.cat([re.reshape(shape), im.reshape(shape)], dim=-1)
        return self.encoder(self.obs_in(tokens) + self.obs_pos)

    def _memory(self, y_feat, keep, batch: int) -> torch.Tensor:
        n_mem = self.n_obs_tokens if self.obs_shape is not None else 1
        null = self.null.expand(batch, n_mem, -1)
        if self.obs_shape is None or y_feat is None:
            return null
        enc = self._encode(y_feat)
        return enc if keep is None else torch.where(keep[:, None, None], enc, null)

    def forward(self, x_feat, c_noise, y_feat=None, keep=None) -> torch.Tensor:
        """(B, T, 2P) token features, (B,) noise levels, (B, 2m) obs. features -> (B, T, 2P)."""
        batch = (x_feat if x_feat is not None else y_feat).shape[0]
        memory = self._memory(y_feat, keep, batch)
        if self.denoising:
            emb = self.noise(c_noise)[:, None]
            query = self.x_in(x_feat) + self.pos + emb
            memory = torch.cat([emb, memory], dim=1)
        else:
            query = self.pos.expand(batch, -1, -1)
        return self.out(self.decoder(query, memory))


def resolve_patch_size(channel_shape: tuple[int, ...], patch_size: int | None) -> int:
    """Default patch: the last axis for 2-D and larger shapes, single entries for 1-D shapes."""
    n = math.prod(channel_shape)
    if patch_size is None:
        return channel_shape[-1] if len(channel_shape) >= 2 else 1
    if n % patch_size:
        raise ValueError(
            f"patch_size must divide the number of channel entries {n} (channel_shape "
            f"{channel_shape}); got {patch_size}"
        )
    return patch_size


def resolve_kind(kind: str, channel_shape: tuple[int, ...]) -> str:
    """`"auto"`: an MLP up to 64 complex entries, the transformer above."""
    check_choice(kind, "network", ("auto", "mlp", "transformer"))
    if kind == "auto":
        return "mlp" if math.prod(channel_shape) <= AUTO_MLP_MAX_ENTRIES else "transformer"
    return kind


def build_network(config, channel_shape, obs_shape=None, *, denoising: bool = True) -> nn.Module:
    """The network a [`ScoreConfig`][beamopt.score.training.ScoreConfig] describes (with an
    empty [`GaussianBase`][beamopt.score.gaussian_base.GaussianBase] as `net.base` for
    `config.base == "gaussian"`)."""
    net = _backbone(config, channel_shape, obs_shape, denoising)
    if denoising and getattr(config, "base", "white") == "gaussian":
        from .gaussian_base import GaussianBase

        # filled by train_score_model (GaussianBase.fit), or by a checkpoint's weights
        obs = None if obs_shape is None else 2 * math.prod(obs_shape)
        noise = obs_shape[-1] if obs is not None and getattr(config, "noise_row", False) else 0
        net.base = GaussianBase(math.prod(channel_shape), obs, noise)
    return net


def _backbone(config, channel_shape, obs_shape, denoising: bool) -> nn.Module:
    kind = resolve_kind(config.network, tuple(channel_shape))
    if kind == "mlp":
        return MLPDenoiserNet(
            channel_shape,
            obs_shape,
            width=config.width,
            n_blocks=config.n_blocks,
            denoising=denoising,
        )
    return TransformerDenoiserNet(
        channel_shape,
        obs_shape,
        d_model=config.d_model,
        n_heads=config.n_heads,
        n_encoder_layers=config.n_encoder_layers,
        n_decoder_layers=config.n_decoder_layers,
        dim_feedforward=config.dim_feedforward,
        patch_size=config.patch_size,
        obs_patch_size=config.obs_patch_size,
        dropout=config.dropout,
        denoising=denoising,
    )
