"""A patient's age, worked out one way everywhere: whole years on a date, and the group shown.

Research views and exports never carry a birth date, only the age it gives on a stated day;
ages of 90 and over are written as one group, "90+", as the HIPAA Safe Harbor method requires
(45 CFR 164.514(b)(2)(i)(C): "all ages over 89 … aggregated into a single category of age 90
or older").
"""

from __future__ import annotations

from datetime import date
from typing import Final

#: The youngest age written only as the group :data:`OLDEST_GROUP`.
OLDEST_AGE: Final = 90
OLDEST_GROUP: Final = "90+"


def age_in_years(birth_date: date, on: date) -> int:
    """Completed years of life on ``on``: the birthday itself counts (the year is completed).

    Someone born on 29 February completes a year on 1 March in a common year (psotrack's
    choice, as in most civil law: the birthday has not yet come on 28 February).

    >>> on = date(2026, 1, 5)
    >>> age_in_years(date(1936, 1, 5), on), age_in_years(date(1936, 1, 6), on)
    (90, 89)
    >>> leap = date(2000, 2, 29)
    >>> age_in_years(leap, date(2025, 2, 28)), age_in_years(leap, date(2025, 3, 1))
    (24, 25)
    """
    before_birthday = (on.month, on.day) < (birth_date.month, birth_date.day)
    return on.year - birth_date.year - int(before_birthday)


def age_group(years: int) -> str:
    """The age as shown outside the clinic: the number of years, or "90+" from 90 on.

    >>> age_group(89), age_group(90), age_group(104)
    ('89', '90+', '90+')
    """
    return OLDEST_GROUP if years >= OLDEST_AGE else str(years)
