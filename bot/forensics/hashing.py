"""Perceptual hashes of proof images: pHash (DCT) and dHash (gradient), 64 bits each.

pHash is imagehash's algorithm (32x32 greyscale, 2-D DCT-II, top-left 8x8
against its median) with the DCT done as two numpy matrix products: the
same bits without importing scipy, which would add ~28 MB to the bot's
resident memory. dHash is imagehash.dhash itself.

Memory is bounded whatever the image: the header is read first (Image.open
is lazy) and more than MAX_PIXELS is refused before any pixel is decoded;
JPEG decodes at 1/2..1/8 scale in greyscale (draft mode); an RGB image is
shrunk (Image.reduce) before it is made greyscale, any other mode goes to
greyscale (one byte a pixel) before it is shrunk, never to a wider mode at
full size. A 1080x2340 screenshot costs a few milliseconds.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, PngImagePlugin

# Refused before decoding: 12 MP is far above any phone screenshot (1080x2340
# is 2.5 MP) and decodes in at most 48 MB (4 bytes a pixel). Pillow's own
# guard (a warning above, an error above twice) is set to it as well.
MAX_PIXELS = 12_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
# PNG text chunks are decompressed while the header is read (up to 64 MB in
# all by default); the checks need none of them.
PngImagePlugin.MAX_TEXT_MEMORY = 1024 * 1024
FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP")  # what screenshots come as; no other decoder is reached
TOO_LARGE = "too large"

HASH_BITS = 64
_SHRINK_TO = 128  # shortest side kept before the final 32x32 resize


class ImageRejected(Exception):
    """The bytes are not an image we will hash (short reason in str())."""


@dataclass(frozen=True)
class ImageHashes:
    phash: int  # unsigned 64-bit
    dhash: int


def to_signed(value: int) -> int:
    """Unsigned 64-bit -> signed, as SQLite stores integers."""
    return value - (1 << 64) if value >= 1 << 63 else value


def to_unsigned(value: int) -> int:
    return value + (1 << 64) if value < 0 else value


def hamming(a: int, b: int) -> int:
    return (to_unsigned(a) ^ to_unsigned(b)).bit_count()


@lru_cache(maxsize=1)
def _dct_matrix():
    import numpy as np  # noqa: PLC0415 (numpy on first hash: idle memory (bot/forensics/__init__.py))

    n = np.arange(32)
    # scipy.fftpack.dct type II, unnormalised: y[k] = 2 * sum x[n] cos(pi k (2n+1) / 2N)
    return 2 * np.cos(np.pi * np.outer(n, 2 * n + 1) / 64)


def _bits(flags) -> int:
    value = 0
    for bit in flags.flatten():
        value = (value << 1) | int(bit)
    return value


def phash(img: Image.Image) -> int:
    """imagehash.phash(img) as an int (hash_size 8, highfreq_factor 4)."""
    import numpy as np  # noqa: PLC0415 (numpy on first hash: idle memory)

    pixels = np.asarray(img.convert("L").resize((32, 32), Image.Resampling.LANCZOS), dtype=np.float64)
    d = _dct_matrix()
    low = (d @ pixels @ d.T)[:8, :8]
    return _bits(low > np.median(low))


def dhash(img: Image.Image) -> int:
    """imagehash.dhash(img) as an int."""
    import imagehash  # noqa: PLC0415 (imagehash (scipy-free use) on first hash: idle memory)

    return int(str(imagehash.dhash(img)), 16)


def decode(data: bytes) -> Image.Image:
    """A shrunk greyscale image from encoded bytes; ImageRejected if too large or broken."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img: Image.Image = Image.open(io.BytesIO(data), formats=FORMATS)  # the header only
            if img.width * img.height > MAX_PIXELS:
                raise ImageRejected(TOO_LARGE)
            # JPEG: decode at reduced scale, in greyscale (no-op for other formats).
            img.draft("L", (max(_SHRINK_TO, img.width // 8), max(_SHRINK_TO, img.height // 8)))
            img.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageRejected(TOO_LARGE) from None
        except ImageRejected:
            raise
        except Exception as e:  # Pillow raises many types for broken files
            raise ImageRejected(f"not a readable image ({type(e).__name__})") from None
    factor = min(img.width, img.height) // _SHRINK_TO
    if img.mode == "RGB":
        img = img.reduce(factor) if factor > 1 else img
        return img.convert("L")
    # Alpha is ignored (as RGBA -> RGB does); a palette is looked up straight to grey.
    img = img.convert("L")
    return img.reduce(factor) if factor > 1 else img


def hash_bytes(data: bytes) -> ImageHashes:
    """pHash and dHash of an encoded image (ImageRejected when it cannot be read)."""
    img = decode(data)
    return ImageHashes(phash=phash(img), dhash=dhash(img))
