r"""3GPP channel data with ageing and SRS hopping (sionna), and an end-to-end precoder baseline.

The channels are 3GPP TR 38.901 UMa or CDL channels from sionna, in the frequency domain over
an OFDM grid, at the sounding (SRS) instants and at the prediction instant after the last one;
the user moves, so the channel ages between the instants. The SRS occupies a comb inside one
sub-band per instant, hopping across the band, and the base station observes

$$
y = A\,\operatorname{vec}(H_{\mathrm{hist}}) + n, \qquad n \sim \mathcal{CN}(0, \sigma^2 I),
$$

the observation history of *A Perception vs. Distortion Perspective on Score-Based Generative
Channel Estimation*, eq. (22)-(23).

sionna and torch are imported lazily: `import beamopt.channels` is cheap.
"""

from __future__ import annotations

from .._lazy import lazy_attributes as _lazy_attributes

# public name -> submodule that defines it (imported on first access)
_LAZY: dict[str, str] = {
    "ChannelConfig": "config",
    "generate_channels": "generate",
    "ChannelDataset": "dataset",
    "build_dataset": "dataset",
    "srs_baseline": "dataset",
    "multipath_channels": "multipath",
    "E2EPrecoder": "e2e",
    "train_e2e_precoder": "e2e",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = _lazy_attributes(__name__, globals(), _LAZY)
