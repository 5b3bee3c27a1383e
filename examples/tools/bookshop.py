"""A small bookshop with fixed data: find an author's books, look one up, check a shop's stock, convert a price.

Every answer comes from the tables below, so the same call always gives the same result. Set
`BOOKSHOP_AUDIT_LOG` to a file path and each call appends one JSON line to it (what a real shop's audit trail
would hold): a side effect you can count.
"""

from __future__ import annotations

import json
import os
from typing import Annotated, Literal

from pydantic import BaseModel, Field

Isbn = Annotated[str, Field(description="The book's ISBN-13", examples=["978-0-14-143951-8", "978-0-452-28423-4"])]

_BOOKS = {
    "978-0-14-143951-8": ("Pride and Prejudice", "Jane Austen", 1813, 9.99),
    "978-0-14-143958-7": ("Emma", "Jane Austen", 1815, 8.5),
    "978-0-452-28423-4": ("Nineteen Eighty-Four", "George Orwell", 1949, 11.25),
    "978-0-452-28424-1": ("Animal Farm", "George Orwell", 1945, 7.75),
    "978-0-14-143947-1": ("Frankenstein", "Mary Shelley", 1818, 6.5),
}
_STOCK = {"Berlin": (4, 0, 2, 7, 1), "Paris": (0, 3, 5, 2, 6), "Lisbon": (2, 2, 0, 0, 3)}
_RATES = {"USD": 1.08, "GBP": 0.85, "JPY": 162.0}


class Search(BaseModel):
    author: str
    isbn: str = Field(description="The ISBN of the author's first book in the catalogue")
    titles: list[str]
    count: int


class Stock(BaseModel):
    isbn: str
    shop: str
    copies: int
    in_stock: bool


class Price(BaseModel):
    price_eur: float
    currency: str
    amount: float


class Book(BaseModel):
    isbn: str
    title: str
    author: str
    year: int
    price_eur: float


def _audit(tool: str, **arguments: object) -> None:
    path = os.environ.get("BOOKSHOP_AUDIT_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(json.dumps({"tool": tool, "arguments": arguments}, sort_keys=True) + "\n")


def search_books(author: Literal["Jane Austen", "George Orwell", "Mary Shelley"]) -> Search:
    """Find the books of an author in the catalogue.

    Args:
        author: The author's full name.
    """
    _audit("search_books", author=author)
    found = [isbn for isbn, book in _BOOKS.items() if book[1] == author]
    return Search(author=author, isbn=found[0], titles=[_BOOKS[i][0] for i in found], count=len(found))


def get_book(isbn: Isbn) -> Book:
    """Look up a book's details by its ISBN.

    Args:
        isbn: The book's ISBN-13, with hyphens.
    """
    _audit("get_book", isbn=isbn)
    if isbn not in _BOOKS:
        raise KeyError(f"no book with ISBN {isbn}")
    title, author, year, price = _BOOKS[isbn]
    return Book(isbn=isbn, title=title, author=author, year=year, price_eur=price)


def check_stock(isbn: Isbn, shop: Literal["Berlin", "Paris", "Lisbon"]) -> Stock:
    """Check how many copies of a book a shop has in stock.

    Args:
        isbn: The book's ISBN-13, with hyphens.
        shop: The city of the shop.
    """
    _audit("check_stock", isbn=isbn, shop=shop)
    if isbn not in _BOOKS:
        raise KeyError(f"no book with ISBN {isbn}")
    copies = _STOCK[shop][list(_BOOKS).index(isbn)]
    return Stock(isbn=isbn, shop=shop, copies=copies, in_stock=copies > 0)


def convert_price(price_eur: float, currency: Literal["USD", "GBP", "JPY"]) -> Price:
    """Convert a price in euros into another currency at today's fixed rate.

    Args:
        price_eur: The price in euros.
        currency: The currency to convert into.
    """
    _audit("convert_price", price_eur=price_eur, currency=currency)
    return Price(price_eur=price_eur, currency=currency, amount=round(price_eur * _RATES[currency], 2))
