"""Photo colours: convert an upload from its embedded ICC profile to sRGB before it is stripped.

Metadata stripping drops the ICC profile (it can carry device details); without converting the
pixels first, a Display P3 photo (what current phones take) would then be read as sRGB and its
reds would fade: a plaque at CIELAB a* ≈ 23 would show ≈ 18. So every tagged upload is
converted by LittleCMS (Pillow's :mod:`PIL.ImageCms`) with the relative colorimetric intent
(in-gamut colours kept exactly, out-of-gamut ones clipped), and the colour space it came in is
recorded on the photo row. An untagged upload is taken as sRGB, as browsers and viewers do.

The colour space is recognised by the profile's primaries (their chromaticities, D50-adapted as
ICC stores them), not by its name, which a camera may write as it likes.
"""

from __future__ import annotations

import io

from PIL import Image, ImageCms

from psotrack.errors import ValidationError
from psotrack.store.vocabulary import ColourSpace

#: Red, green and blue chromaticities (x, y) of the primaries, D50-adapted (Bradford) as in ICC
#: profiles: sRGB (IEC 61966-2-1) and Display P3 (DCI-P3 primaries, D65 white, sRGB curve).
PRIMARIES: dict[ColourSpace, tuple[tuple[float, float], ...]] = {
    ColourSpace.SRGB: ((0.6484, 0.3309), (0.3212, 0.5979), (0.1559, 0.0661)),
    ColourSpace.DISPLAY_P3: ((0.6820, 0.3193), (0.2846, 0.6746), (0.1559, 0.0661)),
}
#: Chromaticity tolerance: profiles round their colorants to 1/65536 and differ in adaptation.
TOLERANCE = 0.002
CONVERTIBLE = "a photo whose colour profile can be converted to sRGB (an RGB, CMYK or grey one)"


def to_srgb(image: Image.Image, icc_profile: bytes | None) -> tuple[Image.Image, ColourSpace]:
    """``image`` converted from ``icc_profile`` to sRGB, and the colour space it was in.

    Without a profile the image is returned as it is (taken as sRGB). A profile that cannot be
    read or applied is refused: storing the pixels unconverted would change the colours.
    """
    if not icc_profile:
        return image, ColourSpace.UNTAGGED
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
    except (OSError, ImageCms.PyCMSError):
        raise ValidationError(
            "image_bytes", "a photo with an unreadable colour profile", CONVERTIBLE, "invalid"
        ) from None
    space = colour_space(source)
    if image.mode in ("P", "PA"):
        image = image.convert(
            "RGBA" if image.mode == "PA" or "transparency" in image.info else "RGB"
        )
    alpha = image.mode in ("RGBA", "LA")
    if image.mode == "LA":  # LittleCMS takes no grey+alpha: convert the grey, keep the alpha
        grey, mask = image.split()
        converted = _convert(grey, source, "RGB")
        converted.putalpha(mask)
        return converted, space
    return _convert(image, source, "RGBA" if alpha else "RGB"), space


def colour_space(profile: ImageCms.ImageCmsProfile) -> ColourSpace:
    """sRGB or Display P3 when the profile's primaries are theirs, else "other ICC profile"."""
    try:
        colorants = [
            getattr(profile.profile, f"{name}_colorant") for name in ("red", "green", "blue")
        ]
        found = [(float(c[1][0]), float(c[1][1])) for c in colorants]
    except (AttributeError, TypeError, IndexError):
        return ColourSpace.OTHER_PROFILE
    for space, primaries in PRIMARIES.items():
        if all(
            abs(x - px) <= TOLERANCE and abs(y - py) <= TOLERANCE
            for (x, y), (px, py) in zip(found, primaries, strict=True)
        ):
            return space
    return ColourSpace.OTHER_PROFILE


def _convert(image: Image.Image, source: ImageCms.ImageCmsProfile, mode: str) -> Image.Image:
    try:
        converted = ImageCms.profileToProfile(
            image,
            source,
            ImageCms.createProfile("sRGB"),
            renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
            outputMode=mode,
        )
    except (ImageCms.PyCMSError, ValueError, OSError):
        raise ValidationError(
            "image_bytes", f"a {image.mode} photo with this colour profile", CONVERTIBLE, "invalid"
        ) from None
    if converted is None:  # only with inPlace=True
        raise RuntimeError("ImageCms.profileToProfile returned no image")
    return converted
