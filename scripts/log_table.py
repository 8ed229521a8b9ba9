#!/usr/bin/env python3
"""scripts/log_table.py: prints the table of src/random/legacy_lanes.cpp's log estimate (legacy_lanes::log_table).

Interval i of the mantissa m in [1, 2) is [1 + i/16, 1 + (i + 1)/16); its point c is the interval's middle,
1 + (2 i + 1)/32, halved from interval 8 on (m >= 1.5, where the estimate takes m / 2 and k + 1), and 1 for
interval 15 (so that log x for x just below 1 is 2 atanh(s) alone, without a cancellation). log c is split as
hi + lo: hi, log c rounded to a multiple of 2^-42 (so that k ln2_hi + hi is exact for |k| <= 1022), and lo, the
rest rounded to the nearest double. Python's decimal module at 60 digits; the standard library only."""
from decimal import Decimal, getcontext
from fractions import Fraction

getcontext().prec = 60


def entry(i):
    c = Fraction(2 * i + 1, 32) + 1
    if i >= 8:
        c /= 2
    if i == 15:
        c = Fraction(1)
    log_c = Decimal(c.numerator).ln() - Decimal(c.denominator).ln()
    hi = Fraction(round(log_c * 2**42), 2**42)  # exact: an integer over 2^42
    lo = float(log_c - Decimal(hi.numerator) / Decimal(hi.denominator))  # decimal -> double: correctly rounded
    return float(c), float(hi), lo


rows = [entry(i) for i in range(16)]
print("// Made by scripts/log_table.py: c, log c rounded to a multiple of 2^-42, and the rest of log c.")
for name, column in (("c", 0), ("log_c_hi", 1), ("log_c_lo", 2)):
    values = ", ".join(v[column].hex() for v in rows)
    print(f"alignas(64) constexpr double {name}[16] = {{{values}}};")
