"""Photos keep their colours: a Display P3 upload is converted to sRGB before its profile goes.

Reproduction (issue 14, part 3b): the profile was stripped without converting the pixels, so a
P3 photo was read as sRGB and a plaque's CIELAB a* fell (here from 22.7 to 17.9). The expected
sRGB values are computed here by hand, independently of LittleCMS: P3 → linear → XYZ (D65) →
linear sRGB → clipped → sRGB curve, with the matrices built from each space's primaries and
white point (SMPTE RP 177 method). Pillow ships no P3 profile, so the test writes one (ICC v4,
matrix/TRC: Bradford-adapted P3 colorants, D50 white, the sRGB curve as a parametric curve).
"""

import io
import struct

import numpy as np
import pytest
from PIL import Image, ImageCms
from sqlalchemy import select

from psotrack.errors import ValidationError
from psotrack.services.photo_colours import to_srgb
from psotrack.services.photos import attach_photo, read_photo
from psotrack.store.models import Photo

D65 = (0.3127, 0.3290)
D50_XYZ = np.array([0.9642, 1.0, 0.8249])
SRGB_PRIMARIES = ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06))
P3_PRIMARIES = ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060))
BRADFORD = np.array(
    [[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]]
)

#: Display P3 pixels: a psoriatic plaque's red, skin, neutral grey, and P3's pure red (out of
#: the sRGB gamut: clipped).
P3_PIXELS = [(180, 130, 120), (222, 184, 160), (128, 128, 128), (255, 0, 0)]


# --- colour arithmetic, by hand -------------------------------------------------------------


def xyz_of(x: float, y: float) -> np.ndarray:
    return np.array([x / y, 1.0, (1 - x - y) / y])


def rgb_to_xyz(primaries, white=D65) -> np.ndarray:
    """The linear RGB → XYZ matrix of a space, scaled so that RGB (1, 1, 1) is its white."""
    columns = np.column_stack([xyz_of(*p) for p in primaries])
    return columns * np.linalg.solve(columns, xyz_of(*white))


def decode(values) -> np.ndarray:
    """The sRGB (and Display P3) curve, IEC 61966-2-1: 8-bit code values → linear light."""
    v = np.asarray(values, dtype=float) / 255
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def encode(linear) -> np.ndarray:
    v = np.clip(np.asarray(linear, dtype=float), 0, 1)
    return np.where(v <= 0.0031308, 12.92 * v, 1.055 * v ** (1 / 2.4) - 0.055) * 255


def p3_to_srgb(pixel) -> np.ndarray:
    to_srgb_matrix = np.linalg.inv(rgb_to_xyz(SRGB_PRIMARIES)) @ rgb_to_xyz(P3_PRIMARIES)
    return np.round(encode(to_srgb_matrix @ decode(pixel)))


def lab_a_star(xyz: np.ndarray) -> float:
    """CIELAB a* (CIE 15) relative to the D65 white."""
    f = [
        t ** (1 / 3) if t > (6 / 29) ** 3 else t / (3 * (6 / 29) ** 2) + 4 / 29
        for t in xyz / xyz_of(*D65)
    ]
    return 500 * (f[0] - f[1])


# --- a Display P3 ICC profile, written byte by byte ----------------------------------------------


def s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def xyz_tag(xyz) -> bytes:
    return b"XYZ \0\0\0\0" + b"".join(s15(v) for v in xyz)


def text_tag(text: str) -> bytes:
    encoded = text.encode("utf-16-be")
    return (
        b"mluc\0\0\0\0" + struct.pack(">II2s2sII", 1, 12, b"en", b"US", len(encoded), 28) + encoded
    )


def display_p3_profile() -> bytes:
    """An ICC v4.3 display profile of Display P3, built from its definition."""
    adapt = (
        np.linalg.inv(BRADFORD)
        @ np.diag((BRADFORD @ D50_XYZ) / (BRADFORD @ xyz_of(*D65)))
        @ BRADFORD
    )
    colorants = (adapt @ rgb_to_xyz(P3_PRIMARIES)).T
    curve = b"para\0\0\0\0" + struct.pack(">HH", 3, 0)
    curve += b"".join(s15(v) for v in (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045))
    tags = [
        (b"desc", text_tag("Display P3 (psotrack test)")),
        (b"cprt", text_tag("No copyright, test data")),
        (b"wtpt", xyz_tag(D50_XYZ)),
        (b"rXYZ", xyz_tag(colorants[0])),
        (b"gXYZ", xyz_tag(colorants[1])),
        (b"bXYZ", xyz_tag(colorants[2])),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
        (b"chad", b"sf32\0\0\0\0" + b"".join(s15(v) for v in adapt.flatten())),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = struct.pack(">I", len(tags)), b""
    for signature, body in tags:
        body += b"\0" * (-len(body) % 4)
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = struct.pack(">I4sI4s4s4s", size, b"lcms", 0x04300000, b"mntr", b"RGB ", b"XYZ ")
    header += struct.pack(">6H", 2026, 12, 2, 0, 0, 0) + b"acsp" + b"\0" * 24
    header += struct.pack(">I", 0) + b"".join(s15(v) for v in D50_XYZ) + b"\0" * 48
    assert len(header) == 128
    return header + table + data


def tagged_png(pixels, profile: bytes | None) -> bytes:
    image = Image.new("RGB", (len(pixels), 1))
    image.putdata(pixels)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **({"icc_profile": profile} if profile else {}))
    return buffer.getvalue()


def stored_pixels(db, clinician, patient_id, upload: bytes) -> tuple[list, str]:
    photo_id = attach_photo(
        db, clinician, patient_id=patient_id, image_bytes=upload, body_site="trunk", view="front"
    )
    with db.transaction() as session:
        space = session.scalar(select(Photo.colour_space).where(Photo.id == photo_id))
    stored = Image.open(io.BytesIO(read_photo(db, clinician, photo_id)))
    assert "icc_profile" not in stored.info  # still stripped: the pixels are sRGB now
    return list(stored.get_flattened_data()), space.value


# --- the tests ---------------------------------------------------------------------------------


def test_the_hand_built_profile_is_display_p3_to_littlecms():
    profile = ImageCms.ImageCmsProfile(io.BytesIO(display_p3_profile()))
    assert ImageCms.getProfileDescription(profile).strip() == "Display P3 (psotrack test)"
    red_x, red_y = profile.profile.red_colorant[1][:2]
    assert (round(red_x, 3), round(red_y, 3)) == (0.682, 0.319)  # Apple's Display P3: 0.6820


def test_hand_arithmetic_matches_published_values():
    # sRGB's RGB→XYZ matrix, IEC 61966-2-1 (first row 0.4124 0.3576 0.1805).
    assert np.allclose(rgb_to_xyz(SRGB_PRIMARIES)[0], [0.4124, 0.3576, 0.1805], atol=1e-4)
    # Display P3's, as published by Apple/W3C CSS Color 4 (first row 0.4866 0.2657 0.1982).
    assert np.allclose(rgb_to_xyz(P3_PRIMARIES)[0], [0.4866, 0.2657, 0.1982], atol=1e-4)


def test_a_display_p3_photo_is_converted_to_srgb_and_its_space_recorded(db, clinician, patient_id):
    upload = tagged_png(P3_PIXELS, display_p3_profile())
    pixels, space = stored_pixels(db, clinician, patient_id, upload)
    assert space == "Display P3"
    expected = [tuple(int(v) for v in p3_to_srgb(p)) for p in P3_PIXELS]
    assert expected[2] == (128, 128, 128) and expected[3] == (255, 0, 0)
    for got, want in zip(pixels, expected, strict=True):
        assert np.abs(np.subtract(got, want)).max() <= 1, (got, want)


def test_the_plaque_keeps_its_redness(db, clinician, patient_id):
    plaque = P3_PIXELS[0]
    (stored, *_), _ = stored_pixels(
        db, clinician, patient_id, tagged_png(P3_PIXELS, display_p3_profile())
    )
    true_a = lab_a_star(rgb_to_xyz(P3_PRIMARIES) @ decode(plaque))
    shown_a = lab_a_star(rgb_to_xyz(SRGB_PRIMARIES) @ decode(stored))
    faded_a = lab_a_star(rgb_to_xyz(SRGB_PRIMARIES) @ decode(plaque))  # the old behaviour
    assert round(true_a, 1) == 22.7 and round(faded_a, 1) == 17.9
    assert abs(shown_a - true_a) < 1.0


def test_untagged_and_srgb_photos_keep_their_pixels(db, clinician, patient_id):
    untagged, space = stored_pixels(db, clinician, patient_id, tagged_png(P3_PIXELS, None))
    assert (untagged, space) == (P3_PIXELS, "untagged (taken as sRGB)")
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    pixels = [(180, 130, 121), (222, 184, 161), (127, 128, 129), (250, 1, 2)]  # a new file
    kept, space = stored_pixels(db, clinician, patient_id, tagged_png(pixels, srgb))
    assert space == "sRGB"
    assert np.abs(np.subtract(kept, pixels)).max() <= 1


def test_an_unreadable_profile_is_refused_not_ignored():
    image = Image.new("RGB", (2, 2), (200, 90, 90))
    with pytest.raises(ValidationError, match="unreadable colour profile"):
        to_srgb(image, b"not an ICC profile at all")
