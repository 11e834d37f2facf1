"""Synthetic phone screenshots, drawn with Pillow from seeds (simulator and benchmark only).

A *template* fixes an app screen's look (theme colours, app name, layout);
a *content* seed fixes what one account shows on it (avatar, username,
counters, bio, post grid, clock). Two images with the same template and
different content are distinct images of the same layout: they must not be
flagged as duplicates. :func:`near_duplicate` re-encodes, resizes, crops and
brightens an image the way a screenshot passed between accounts is changed.

The bot's runtime code must not import this module.
"""

from __future__ import annotations

import io
import random
from functools import lru_cache

from PIL import Image, ImageDraw, ImageEnhance, ImageFont

SCREEN = (1080, 2340)  # a common phone screenshot size
APPS = ("Instagram", "TikTok", "Twitter", "YouTube", "Maps", "Store", "Reviews", "Mail")
SYLLABLES = ("ka", "ri", "mo", "lu", "zen", "pa", "do", "vi", "sa", "ne", "to", "mi", "rex", "jo", "la", "bu")


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _colour(rng: random.Random, low: int = 0, high: int = 255) -> tuple[int, int, int]:
    return (rng.randint(low, high), rng.randint(low, high), rng.randint(low, high))


def _name(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) + rng.choice(("", "_", "."))  + str(rng.randint(1, 999))


def screenshot(content: int, *, template: int | None = None, size: tuple[int, int] = SCREEN) -> Image.Image:
    """An RGB phone-screen image; deterministic in (content, template, size)."""
    width, height = size
    s = width / 1080  # every coordinate below is for a 1080-wide screen
    theme = random.Random(f"template-{template if template is not None else content}")
    rng = random.Random(f"content-{content}")
    background = theme.choice([(255, 255, 255), (250, 250, 250), (18, 18, 18), (245, 242, 235)])
    ink = (20, 20, 20) if sum(background) > 380 else (235, 235, 235)
    accent = _colour(theme, 30, 220)
    img = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(img)

    def box(x0, y0, x1, y1):
        return [int(x0 * s), int(y0 * s), int(x1 * s), int(y1 * s)]

    # Status bar, app bar.
    draw.text((40 * s, 20 * s), f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}", fill=ink, font=_font(max(8, int(40 * s))))
    draw.rectangle(box(860, 30, 860 + rng.randint(60, 140), 60), fill=ink)
    draw.rectangle(box(0, 100, 1080, 260), fill=accent)
    draw.text((40 * s, 140 * s), theme.choice(APPS), fill=(255, 255, 255), font=_font(max(8, int(70 * s))))
    # Profile: avatar, name, counters, bio, button.
    avatar = _colour(rng, 40, 230)
    draw.ellipse(box(40, 300, 300, 560), fill=avatar)
    draw.ellipse(box(110, 350, 230, 470), fill=_colour(rng, 40, 230))
    draw.text((340 * s, 310 * s), _name(rng), fill=ink, font=_font(max(8, int(60 * s))))
    for n, label in enumerate(("posts", "followers", "following")):
        x = 340 + n * 240
        draw.text((x * s, 410 * s), str(rng.randint(0, 99999)), fill=ink, font=_font(max(8, int(56 * s))))
        draw.text((x * s, 480 * s), label, fill=ink, font=_font(max(8, int(36 * s))))
    for line in range(3):
        words = " ".join(_name(rng) for _ in range(rng.randint(2, 5)))
        draw.text((40 * s, (600 + line * 60) * s), words, fill=ink, font=_font(max(8, int(40 * s))))
    draw.rounded_rectangle(box(40, 820, 1040, 920), radius=int(20 * s), fill=accent)
    draw.text((470 * s, 845 * s), theme.choice(("Follow", "Following", "Subscribed", "Liked")), fill=(255, 255, 255), font=_font(max(8, int(48 * s))))
    # Post grid: each account's own pictures.
    cols = theme.choice((2, 3))
    cell = 1080 // cols
    for row in range((2340 - 960) // cell + 1):
        for col in range(cols):
            x0, y0 = col * cell, 960 + row * cell
            draw.rectangle(box(x0 + 4, y0 + 4, x0 + cell - 4, y0 + cell - 4), fill=_colour(rng))
            for _ in range(rng.randint(1, 3)):
                cx, cy, r = x0 + rng.randint(0, cell), y0 + rng.randint(0, cell), rng.randint(cell // 8, cell // 2)
                shape = box(cx - r, cy - r, cx + r, cy + r)
                (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(shape, fill=_colour(rng))
    # Navigation bar over the grid's bottom.
    draw.rectangle(box(0, 2200, 1080, 2340), fill=background)
    for n in range(5):
        draw.ellipse(box(90 + n * 200, 2240, 150 + n * 200, 2300), outline=ink, width=max(1, int(6 * s)))
    return img


def encode(img: Image.Image, fmt: str = "PNG", quality: int = 85) -> bytes:
    """PNG or JPEG bytes of an image."""
    out = io.BytesIO()
    if fmt.upper() == "JPEG":
        img.convert("RGB").save(out, "JPEG", quality=quality)
    else:
        img.save(out, "PNG", compress_level=1)
    return out.getvalue()


def near_duplicate(img: Image.Image, rng: random.Random) -> tuple[bytes, str]:
    """The image changed as a re-shared screenshot is: (JPEG bytes, what was done).

    Always re-encoded as JPEG (quality 40-95); each of resize (80-120 %),
    crop (up to 5 % of each dimension) and brightness (±10 %) applied with
    probability 1/2.
    """
    done = []
    if rng.random() < 0.5:
        w, h = img.size
        cut_x, cut_y = int(w * rng.uniform(0, 0.05)), int(h * rng.uniform(0, 0.05))
        left, top = rng.randint(0, cut_x), rng.randint(0, cut_y)
        img = img.crop((left, top, left + w - cut_x, top + h - cut_y))
        done.append(f"crop {cut_x}x{cut_y}")
    if rng.random() < 0.5:
        factor = rng.uniform(0.8, 1.2)
        img = img.resize((max(1, int(img.width * factor)), max(1, int(img.height * factor))), Image.BILINEAR)
        done.append(f"resize {factor:.2f}")
    if rng.random() < 0.5:
        factor = rng.uniform(0.9, 1.1)
        img = ImageEnhance.Brightness(img).enhance(factor)
        done.append(f"brightness {factor:.2f}")
    quality = rng.randint(40, 95)
    done.append(f"jpeg q{quality}")
    return encode(img, "JPEG", quality), ", ".join(done)


@lru_cache(maxsize=256)
def proof_image(key: int, variant: int = 0, *, size: tuple[int, int] = (360, 780)) -> tuple[bytes, str]:
    """A simulator proof image: (bytes, content type), deterministic in (key, variant).

    `key` picks the picture (the same key is the same screenshot); `variant`
    > 0 gives a near-duplicate of it, as a worker re-sharing it would send.
    Even keys are PNG, odd keys JPEG.
    """
    img = screenshot(key, template=key % 5, size=size)
    if variant:
        data, _ = near_duplicate(img, random.Random(f"variant-{key}-{variant}"))
        return data, "image/jpeg"
    if key % 2:
        return encode(img, "JPEG", 88), "image/jpeg"
    return encode(img, "PNG"), "image/png"


def bomb_png(width: int = 50_000, height: int = 50_000) -> bytes:
    """A tiny, valid-looking PNG whose header declares a huge image (a decompression bomb)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


@lru_cache(maxsize=4)
def solid_png(width: int, height: int, *, palette: bool = False) -> bytes:
    """A valid PNG of one colour: 8-bit greyscale, or a 1-bit palette image. Small on disk
    (every row compresses to almost nothing) but width x height pixels once decoded; written
    row by row, so making it costs no more memory than one row."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    bit_depth, colour_type = (1, 3) if palette else (8, 0)
    row = b"\x00" * (1 + (width * bit_depth + 7) // 8)  # filter byte "none", then the pixels
    packer = zlib.compressobj(9)
    pieces = [packer.compress(row * 100) for _ in range(height // 100)]
    pieces += [packer.compress(row * (height % 100)), packer.flush()]
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    extra = chunk(b"PLTE", bytes((200, 40, 40, 0, 0, 0))) if palette else b""
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + extra + chunk(b"IDAT", b"".join(pieces)) + chunk(b"IEND", b"")
