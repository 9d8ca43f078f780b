"""Reading the tickets' words: category and unit suggestion (``classifier``), near-duplicate
重复件 (``similar``) and hot topics (``topics``). Pure functions and models over text, CPU only,
nothing downloaded at run time; the store-facing parts live in ``bot.reading.service``."""
