#!/usr/bin/python3
"""The reference values of `lmsref ensemble --rng philox`'s data, from a Philox4x32-10 written here from scratch.

Run with Debian's interpreter (standard library only):

    /usr/bin/python3 scripts/philox_reference.py [--out data/reference/philox] [--check]

It first checks this Philox against Random123's published known-answer vectors for Philox4x32-10 (from the
kat_vectors file of the Random123 distribution), then writes philox/normals.csv: for a few (seed, realization r,
sample n), the four Philox words, the two uniforms and the two normals x_r(n) and v_r(n) of the mapping that
src/random/philox_data.hpp documents:

    counter = (n mod 2^32, n div 2^32, r mod 2^32, r div 2^32), key = (seed, 0x6c6d7372)
    k1 = (w0 >> 5) 2^26 + (w1 >> 6), u1 = (k1 + 1) 2^-53;  k2 = (w2 >> 5) 2^26 + (w3 >> 6), u2 = k2 2^-53
    rho = sqrt(-2 log u1), x = rho cos(2 pi u2), v = rho sin(2 pi u2)

log, cos and sin are philox::log_unit and philox::cos_sin_2pi, written out here operation for operation (plain
IEEE double arithmetic, no libm), so the values are the C++ (and CUDA) bits; they are checked against math.log,
math.cos and math.sin too.

Doubles are written with repr (17 significant digits at most: they read back to the same bits). --check compares
with the committed file instead of writing it, and exits 1 on a difference.
"""
import argparse
import math
import os
import struct
import sys

MASK32 = 0xFFFFFFFF
M0, M1 = 0xD2511F53, 0xCD9E8D57  # Philox4x32's multipliers
W0, W1 = 0x9E3779B9, 0xBB67AE85  # its Weyl key increments (golden ratio, sqrt(3) - 1)
KEY_TAG = 0x6C6D7372  # "lmsr"


def philox4x32(counter, key, rounds=10):
    """Philox4x32-R (Salmon et al., SC'11): `rounds` rounds, the key bumped between rounds."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for i in range(rounds):
        if i > 0:
            k0 = (k0 + W0) & MASK32
            k1 = (k1 + W1) & MASK32
        p0 = M0 * c0
        p1 = M1 * c2
        hi0, lo0 = p0 >> 32, p0 & MASK32
        hi1, lo1 = p1 >> 32, p1 & MASK32
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
    return (c0, c1, c2, c3)


# Random123's kat_vectors, Philox4x32 lines: rounds, counter (4 words), key (2 words), expected output (4 words).
KAT = [
    (7, (0, 0, 0, 0), (0, 0), (0x5F6FB709, 0x0D893F64, 0x4F121F81, 0x4F730A48)),
    (7, (MASK32,) * 4, (MASK32,) * 2, (0x5207DDC2, 0x45165E59, 0x4D8EE751, 0x8C52F662)),
    (7, (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0x4DFCCABA, 0x190A87F0, 0xC47362BA, 0xB6B5242A)),
    (10, (0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    (10, (MASK32,) * 4, (MASK32,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    (10, (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


def check_kat():
    for rounds, counter, key, expected in KAT:
        got = philox4x32(counter, key, rounds)
        if got != expected:
            sys.exit("philox_reference.py: Philox4x32-%d of %s, %s gives %s, not Random123's %s" %
                     (rounds, counter, key, [hex(w) for w in got], [hex(w) for w in expected]))


def bits53(a, b):
    return ((a >> 5) << 26) | (b >> 6)


def log_unit(u):
    """philox::log_unit, operation for operation (Python's floats are IEEE doubles, without fused multiply-add)."""
    bits = struct.unpack("<Q", struct.pack("<d", u))[0]
    e = (bits >> 52) - 1023
    m = struct.unpack("<d", struct.pack("<Q", (bits & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000))[0]
    if m > 1.4142135623730951:
        m = m * 0.5
        e = e + 1
    s = (m - 1.0) / (m + 1.0)
    z = s * s
    p = 1.0 / 23.0
    for k in (21, 19, 17, 15, 13, 11, 9, 7, 5, 3):
        p = p * z + 1.0 / k
    log_m = 2.0 * s + 2.0 * s * (z * p)
    de = float(e)
    return de * 6.93147180369123816490e-01 + (log_m + de * 1.90821492927058770002e-10)


def cos_sin_2pi(u):
    """philox::cos_sin_2pi, operation for operation."""
    u4 = 4.0 * u
    q = int(u4)
    f = u4 - float(q)
    swap = 1 if f > 0.5 else 0
    a = 1.5707963267948966 * (1.0 - f if swap else f)
    z = a * a
    ps = 1.0 / 355687428096000.0
    for sign, factorial in ((-1, 1307674368000.0), (1, 6227020800.0), (-1, 39916800.0), (1, 362880.0),
                            (-1, 5040.0), (1, 120.0), (-1, 6.0)):
        ps = ps * z + 1.0 / factorial if sign > 0 else ps * z - 1.0 / factorial
    sin_a = a + a * (z * ps)
    pc = 1.0 / 20922789888000.0
    for sign, factorial in ((-1, 87178291200.0), (1, 479001600.0), (-1, 3628800.0), (1, 40320.0), (-1, 720.0),
                            (1, 24.0)):
        pc = pc * z + 1.0 / factorial if sign > 0 else pc * z - 1.0 / factorial
    cos_a = (1.0 - 0.5 * z) + (z * z) * pc
    pair = (cos_a, sin_a)
    odd = (q & 1) ^ swap
    sign = (1.0, -1.0)
    return sign[((q + 1) >> 1) & 1] * pair[odd], sign[(q >> 1) & 1] * pair[odd ^ 1]


def check_math():
    """log_unit and cos_sin_2pi against Python's math (the platform's libm) on 10^5 points and the ends: log within
    4e-16 relative; cos and sin within 1e-15 absolute (they are at most 1; math's theta = 2 pi u is itself rounded,
    by up to 4.4e-16 near 2 pi, which moves cos and sin by as much)."""
    points = [2.0**-53, 0.5, 1.0 - 2.0**-53, 1.0] + [((k * 2654435761) % 2**53 + 1) * 2.0**-53 for k in range(100000)]
    worst_log = max(abs(log_unit(u) - math.log(u)) / max(abs(math.log(u)), 1e-300) for u in points if u < 1.0)
    if log_unit(1.0) != 0.0 or worst_log > 4e-16:
        sys.exit("philox_reference.py: log_unit is off by %g (relative)" % worst_log)
    worst_trig = 0.0
    for u in points[:-1]:
        c, s = cos_sin_2pi(u)
        theta = 6.283185307179586 * u
        worst_trig = max(worst_trig, abs(c - math.cos(theta)), abs(s - math.sin(theta)))
    if worst_trig > 1e-15:
        sys.exit("philox_reference.py: cos_sin_2pi is off by %g" % worst_trig)
    return worst_log, worst_trig


def draw(seed, r, n):
    words = philox4x32((n & MASK32, n >> 32, r & MASK32, r >> 32), (seed, KEY_TAG))
    u1 = (bits53(words[0], words[1]) + 1) * 2.0**-53
    u2 = bits53(words[2], words[3]) * 2.0**-53
    rho = math.sqrt(-2.0 * log_unit(u1))
    c, s = cos_sin_2pi(u2)
    return words, u1, u2, rho * c, rho * s


# (seed, realization, sample): the defaults' first samples, large r and n (the high counter words), seeds at the ends.
CASES = [(0, 0, n) for n in range(4)] + [(0, r, 0) for r in (1, 2, 63, 64)] + [
    (0, 0, 499), (1, 0, 0), (42, 7, 123), (4294967295, 5, 6), (12345, 2**32 + 3, 17), (7, 11, 2**32 + 5),
    (3, 2**40 + 1, 2**33 + 9)]


def table():
    lines = ["seed,realization,sample,w0,w1,w2,w3,u1,u2,x,v"]
    for seed, r, n in CASES:
        words, u1, u2, x, v = draw(seed, r, n)
        lines.append(",".join([str(seed), str(r), str(n)] + ["%d" % w for w in words] +
                              [repr(u1), repr(u2), repr(x), repr(v)]))
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=os.path.join(here, "..", "data", "reference", "philox"))
    parser.add_argument("--check", action="store_true", help="compare with the committed file, write nothing")
    args = parser.parse_args()
    check_kat()
    worst_log, worst_trig = check_math()
    print("log_unit within %.2g (relative) of math.log, cos_sin_2pi within %.2g of math.cos and math.sin" %
          (worst_log, worst_trig))
    text = table()
    path = os.path.join(args.out, "normals.csv")
    if args.check:
        with open(path) as f:
            if f.read() != text:
                sys.exit("philox_reference.py: %s differs from what this script makes" % path)
        print("%s: reproduced; Random123's %d Philox4x32 known-answer vectors pass" % (path, len(KAT)))
        return
    os.makedirs(args.out, exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    print("wrote %s (%d cases); Random123's %d Philox4x32 known-answer vectors pass" % (path, len(CASES), len(KAT)))


if __name__ == "__main__":
    main()
