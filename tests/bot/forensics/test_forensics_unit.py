"""Proof forensics, unit tier: hashing (on in-memory images), the index, text folding, bursts, flag lines."""

from __future__ import annotations

import io
import random
from datetime import datetime, timedelta

import pytest
from PIL import Image, ImageDraw

from bot.forensics.blocks import flag_lines
from bot.forensics.fetch import HOST_SKIPPED, FetchFailed, HostBreaker, SandboxOrigin, is_public
from bot.forensics.hashing import ImageRejected, decode, hamming, hash_bytes, phash, to_signed, to_unsigned
from bot.forensics.index import HashIndex
from bot.forensics.service import MAX_DHASH_DISTANCE, MAX_PHASH_DISTANCE, Evidence, Flag, busiest_window, utc_text
from bot.forensics.text import (
    MAX_SHARERS,
    MAX_SHARERS_ANYWHERE,
    MIN_DISTINCTIVE_WORDS,
    MIN_LENGTH,
    distinctive_words,
    fingerprint,
    is_boilerplate,
    normalise,
)
from sandbox.images import bomb_png, encode, near_duplicate, screenshot

pytestmark = pytest.mark.unit

SMALL = (270, 585)


def near(a, b) -> bool:
    return hamming(a.phash, b.phash) <= MAX_PHASH_DISTANCE and hamming(a.dhash, b.dhash) <= MAX_DHASH_DISTANCE


# --- hashing -----------------------------------------------------------------------------


def test_phash_is_imagehash_phash_without_scipy():
    import imagehash

    for seed in range(6):
        img = decode(encode(screenshot(seed, size=SMALL)))
        assert phash(img) == int(str(imagehash.phash(img)), 16)


def test_near_duplicates_match_and_distinct_images_of_the_same_layout_do_not():
    rng = random.Random(3)
    for seed in range(8):
        img = screenshot(seed, template=1, size=SMALL)
        original = hash_bytes(encode(img))
        # Re-encoded only: must match whatever the quality.
        assert near(original, hash_bytes(encode(img, "JPEG", 40)))
        matched = sum(near(original, hash_bytes(near_duplicate(img, rng)[0])) for _ in range(4))
        assert matched >= 3
        for other in range(100, 104):  # same template (layout, theme), another account
            assert not near(original, hash_bytes(encode(screenshot(other, template=1, size=SMALL))))


@pytest.mark.parametrize("a, b", [(184, 213), (144, 226), (195, 241)])
def test_distinct_screenshots_that_fool_phash_alone_are_not_matched(a, b):
    # Found by searching 300 corpus screenshots: pHash puts these within 8 bits.
    first = hash_bytes(encode(screenshot(a, template=a % 20, size=SMALL)))
    second = hash_bytes(encode(screenshot(b, template=b % 20, size=SMALL)))
    assert hamming(first.phash, second.phash) <= MAX_PHASH_DISTANCE  # pHash alone would accuse
    assert not near(first, second)  # dHash must agree too


def test_png_and_jpeg_of_one_screenshot_hash_alike_at_full_size():
    img = screenshot(42)
    assert img.size == (1080, 2340)
    assert near(hash_bytes(encode(img, "PNG")), hash_bytes(encode(img, "JPEG", 85)))


def test_signed_storage_round_trip():
    for value in (0, 1, (1 << 63) - 1, 1 << 63, (1 << 64) - 1):
        signed = to_signed(value)
        assert -(1 << 63) <= signed < (1 << 63) and to_unsigned(signed) == value


@pytest.mark.parametrize(
    "data, reason",
    [
        (bomb_png(), "too large"),
        (bomb_png(4000, 3001), "too large"),  # 12,004,000 pixels: over the 12 MP cap, under twice it (Pillow only warns)
        (b"GIF89a not really", "not a readable image"),
        (b"", "not a readable image"),
        (encode(screenshot(1, size=SMALL))[:300], "not a readable image"),  # truncated
    ],
    ids=["bomb", "over-limit", "garbage", "empty", "truncated"],
)
def test_unsafe_or_broken_images_are_refused_with_a_reason(data, reason):
    with pytest.raises(ImageRejected) as e:
        hash_bytes(data)
    assert reason in str(e.value)


def test_the_pixel_cap_is_read_from_the_header_and_an_image_at_it_is_hashed():
    at_cap = io.BytesIO()
    Image.new("RGB", (4000, 3000), (200, 30, 30)).save(at_cap, "PNG")  # exactly 12,000,000 pixels
    assert hash_bytes(at_cap.getvalue()).phash is not None
    over = io.BytesIO()
    Image.new("P", (4000, 3001)).save(over, "PNG")
    with pytest.raises(ImageRejected, match="^too large$"):
        hash_bytes(over.getvalue())


# --- index -------------------------------------------------------------------------------


def test_index_finds_rows_within_both_distances_only():
    rng = random.Random(9)
    index = HashIndex()
    rows = [(n, to_signed(rng.getrandbits(64)), to_signed(rng.getrandbits(64))) for n in range(1, 2001)]
    index.extend(rows)
    assert len(index) == 2000 and index.last_key == 2000
    _, p, d = rows[499]
    flip = lambda v, bits: to_unsigned(v) ^ sum(1 << b for b in bits)  # noqa: E731
    found = index.near(flip(p, range(5)), flip(d, range(3)), max_phash=10, max_dhash=10)
    assert [(m.key, m.phash_distance, m.dhash_distance) for m in found] == [(500, 5, 3)]
    assert index.near(flip(p, range(11)), d, max_phash=10, max_dhash=10) == []
    assert index.near(p, flip(d, range(11)), max_phash=10, max_dhash=10) == []
    assert HashIndex().near(p, d, max_phash=10, max_dhash=10) == []


# --- text and time -----------------------------------------------------------------------


def test_text_is_folded_and_templates_are_ignored():
    assert normalise("  Followed the PAGE!!\n\nscreenshot—attached. ") == "followed the page screenshot attached"
    a = fingerprint("Reviewed the Blue Anchor cafe, screenshot attached.")
    assert a is not None and a == fingerprint("reviewed   THE blue-anchor CAFE screenshot attached")
    assert a != fingerprint("Reviewed the Blue Anchor cafe, screenshot attached twice.")
    for generic in ("Done", "done!!", "Task done.", "OK", "Completed", "see screenshot", "short one", "", None):
        assert fingerprint(generic) is None


@pytest.mark.parametrize("stock", [
    "All steps done, confirmation page attached.",
    "Followed the page, screenshot attached.",
    "Liked and followed. Thanks!",
    "Review posted with 5 stars, see screenshot",
    "Completed as requested, see the screenshot",
    "Signed up and confirmed my email, proof attached",
])
def test_stock_proof_sentences_are_not_compared(stock):
    assert fingerprint(stock) is None


def test_text_needs_two_distinctive_words_to_be_compared():
    assert MIN_DISTINCTIVE_WORDS == 2
    assert distinctive_words(normalise("Left a 5 star review as Sam Porter, order 4471")) == {"sam", "porter", "4471"}
    assert fingerprint("Left a five star review, my name there is Sam.") is None  # one: "sam"
    assert fingerprint("Left a five star review, my name there is Sam Porter.") is not None  # two
    assert fingerprint("Review posted with 55 stars, see screenshot") is None  # a short number is no name
    assert fingerprint("Review posted with 555 stars, see screenshot") is None  # one: "555"
    assert fingerprint("Review posted with 555 stars, see screenshot 777") is not None


def test_copied_text_is_boilerplate_past_three_workers_in_the_campaign_or_five_anywhere():
    assert (MAX_SHARERS, MAX_SHARERS_ANYWHERE) == (3, 5)
    assert not is_boilerplate(3, 5)  # a ring of three, in one or more campaigns: evidence
    assert is_boilerplate(4, 4)  # four workers of one campaign: a stock phrase
    assert is_boilerplate(1, 6)  # six workers across campaigns: a stock phrase
    assert not is_boilerplate(2, 2)


def test_busiest_window_and_times():
    t0 = datetime(2026, 1, 1, 12, 0)
    times = [t0 + timedelta(minutes=m) for m in (0, 2, 4, 6, 8, 9, 30)]
    assert busiest_window(times, times[5], 10) == 6
    assert busiest_window(times, times[6], 10) == 1
    assert utc_text("2026-01-01T14:00:00+02:00") == "2026-01-01T12:00:00+00:00"
    assert utc_text("2026-01-01T12:00:00Z") == "2026-01-01T12:00:00+00:00"
    assert utc_text("yesterday") is None and utc_text(None) is None


def test_the_sandbox_allowance_is_rapidworkers_own_private_origin_only():
    import ipaddress

    ip = ipaddress.ip_address
    sandbox = SandboxOrigin.of("http://127.0.0.1:8765")
    assert sandbox is not None and sandbox.admits("http", ip("127.0.0.1"), 8765)
    assert not sandbox.admits("http", ip("127.0.0.1"), 8766)  # another port of the same host
    assert not sandbox.admits("https", ip("127.0.0.1"), 8765)
    assert not sandbox.admits("http", ip("127.0.0.2"), 8765)
    assert not sandbox.admits("http", ip("::ffff:127.0.0.1"), 8765)
    local = SandboxOrigin.of("http://localhost:8765")
    assert local is not None and local.admits("http", ip("::1"), 8765) and not local.admits("http", ip("10.0.0.1"), 8765)
    assert SandboxOrigin.of("https://api.rapidworkers.io") is None  # a name: no exception at all
    assert SandboxOrigin.of("https://8.8.8.8") is None


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "255.255.255.255",
    "224.0.0.1", "239.1.2.3", "240.0.0.1", "192.0.0.1", "192.0.2.1", "198.18.0.1", "198.51.100.1", "203.0.113.1", "192.88.99.1",
    "::1", "::", "fe80::1", "fc00::1", "fd12::1", "fec0::1", "ff02::1", "ff0e::1", "2001:db8::1", "3fff::1", "5f00::1", "100::1",
    "::ffff:127.0.0.1", "::ffff:8.8.8.8", "::127.0.0.1", "::10.0.0.1",  # IPv4-mapped and -compatible: always refused
    "2002:7f00:1::1", "2002:a9fe:a9fe::1", "2002:c0a8:101::1",  # 6to4 of 127.0.0.1, 169.254.169.254, 192.168.1.1
    "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::808:808",  # NAT64 of private addresses; local-use NAT64
    "2001::1", "2001:2::1",
])
def test_special_purpose_addresses_are_not_public(address):
    import ipaddress

    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.216.34", "2606:4700::1111", "2a00:1450:4001::1", "64:ff9b::808:808", "2002:808:808::1"])
def test_public_addresses_are_public(address):
    import ipaddress

    assert is_public(ipaddress.ip_address(address))


def test_the_breaker_skips_a_host_for_a_while_then_tries_again():
    now = [1000.0]
    breaker = HostBreaker(seconds=300, clock=lambda: now[0])
    breaker.refuse_if_down("img.example:443")
    breaker.trip("img.example:443")
    with pytest.raises(FetchFailed, match=f"^{HOST_SKIPPED}$"):
        breaker.refuse_if_down("img.example:443")
    breaker.refuse_if_down("img.example:8443")  # another port, another host
    now[0] += 299.9
    with pytest.raises(FetchFailed):
        breaker.refuse_if_down("img.example:443")
    now[0] += 0.2
    breaker.refuse_if_down("img.example:443")


# --- Pillow-drawn images (no corpus, no network) ---------------------------------------------


def drawn(shapes: str, fmt: str = "PNG", size=(200, 200)) -> bytes:
    """An image with a few shapes, scaled to `size`; the same `shapes` draw the same picture."""
    img = Image.new("RGB", (200, 200), "white")
    draw = ImageDraw.Draw(img)
    for n, shape in enumerate(shapes):
        box = (10 + 35 * n, 20 + 25 * (n % 3), 60 + 35 * n, 120 + 20 * (n % 2))
        (draw.ellipse if shape == "o" else draw.rectangle)(box, fill=(40 * n % 255, 0, 120))
    img = img.resize(size)
    out = io.BytesIO()
    img.save(out, fmt, **({"quality": 70} if fmt == "JPEG" else {}))
    return out.getvalue()


def test_drawn_image_reencoded_or_resized_hashes_alike_and_another_does_not():
    original = hash_bytes(drawn("o#o#"))
    assert hash_bytes(drawn("o#o#")) == original  # deterministic
    assert near(original, hash_bytes(drawn("o#o#", "JPEG")))
    assert near(original, hash_bytes(drawn("o#o#", size=(400, 400))))
    assert not near(original, hash_bytes(drawn("#")))  # another picture: one shape, not four


def test_modes_with_alpha_or_a_palette_are_hashed_like_rgb():
    rgb = Image.open(io.BytesIO(drawn("o#o"))).convert("RGB")
    for mode in ("RGBA", "P", "LA"):
        out = io.BytesIO()
        rgb.convert(mode).save(out, "PNG")
        assert near(hash_bytes(out.getvalue()), hash_bytes(drawn("o#o"))), mode


def test_decode_shrinks_large_images_to_greyscale():
    img = decode(drawn("o#", size=(1024, 1024)))
    assert img.mode == "L" and min(img.size) < 1024


def test_hamming_counts_differing_bits_of_signed_or_unsigned_values():
    assert hamming(0, 0) == 0 and hamming(0b1011, 0) == 3
    assert hamming(-1, 0) == 64 and hamming(to_signed((1 << 64) - 1), (1 << 64) - 1) == 0


def test_index_orders_nearest_first_and_grows():
    index = HashIndex()
    index.extend([(1, 0b1111, 0), (2, 0b1, 0)])
    index.extend([])
    index.extend([(3, 0, 0b11)])
    assert [(m.key, m.phash_distance, m.dhash_distance) for m in index.near(0, 0, max_phash=4, max_dhash=2)] == [(2, 1, 0), (3, 0, 2), (1, 4, 0)]
    assert index.last_key == 3 and len(index) == 3
    assert [m.key for m in index.near(0, 0, max_phash=3, max_dhash=1)] == [2]


def test_fingerprint_needs_the_minimum_length():
    assert fingerprint("qq " + "x" * (MIN_LENGTH - 4)) is None  # two distinctive words, one character short
    assert fingerprint("qq " + "x" * (MIN_LENGTH - 3)) is not None
    assert normalise("ＦＵＬＬ\u00a0width") == "full width"  # NFKC folds compatibility forms


# --- flag lines -------------------------------------------------------------------------------


HOSTILE = "<!channel> <https://evil.example|click> & co"


def test_flag_lines_escape_every_worker_controlled_value():
    other = Evidence(submission_id=7, worker_id="<!here>", worker_name=HOSTILE, status="approved", image_no=2,
                     link="https://slack.example/archives/C1/p1")
    lines = flag_lines([
        Flag("duplicate_other_worker", image_no=1, evidence=(other,)),
        Flag("copied_text", evidence=(other,)),
        Flag("burst", detail=HOSTILE),
        Flag("unchecked", image_no=3, detail=HOSTILE),
    ])
    assert len(lines) == 4
    for line in lines:
        assert "<!channel>" not in line and "<!here>" not in line and "<https://evil" not in line
    assert "&lt;!channel&gt;" in lines[0] and "&amp; co" in lines[2]
    assert "image 1 matches image 2 of submission `7`" in lines[0] and ", approved" in lines[0]
    assert lines[0].count("|message>") == 1


def test_flag_lines_same_worker_names_no_one_and_skips_bad_links():
    mine = Evidence(submission_id=9, worker_name="someone", image_no=0, link="javascript:alert(1)")
    [line] = flag_lines([Flag("duplicate_same_worker", image_no=0, evidence=(mine,))])
    assert "same worker" in line and "their submission `9`" in line
    assert "someone" not in line and "javascript" not in line
    assert flag_lines([Flag("something new")]) == []
