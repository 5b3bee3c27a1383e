"""A stateful environment: a shopping cart. Each conversation gets its own `Cart`, whose contents persist across
that conversation's calls (add books, then check out what was added)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

_PRICES_EUR = {"978-0-14-143951-8": 9.99, "978-0-452-28423-4": 11.25, "978-0-14-143947-1": 6.5}

Isbn = Annotated[
    str,
    Field(description="The book's ISBN-13", examples=["978-0-14-143951-8", "978-0-452-28423-4", "978-0-14-143947-1"]),
]


class CartState(BaseModel):
    cart_id: str
    items: int
    total_eur: float


class Order(BaseModel):
    order_id: str
    charged_eur: float
    payment: str


class Cart:
    """One customer's cart."""

    def __init__(self) -> None:
        self.items: dict[str, int] = {}
        self.orders = 0

    def add_to_cart(self, isbn: Isbn, quantity: Annotated[int, Field(ge=1, le=5)] = 1) -> CartState:
        """Add copies of a book to the cart.

        Args:
            isbn: The book's ISBN-13, with hyphens.
            quantity: How many copies to add.
        """
        if isbn not in _PRICES_EUR:
            raise KeyError(f"the shop does not sell ISBN {isbn}")
        self.items[isbn] = self.items.get(isbn, 0) + quantity
        return CartState(cart_id="cart-1", items=sum(self.items.values()), total_eur=self._total())

    def checkout(self, cart_id: str, payment: Literal["card", "paypal"]) -> Order:
        """Pay for everything in the cart and place the order.

        Args:
            cart_id: The cart to check out.
            payment: How to pay.
        """
        if cart_id != "cart-1" or not self.items:
            raise ValueError("the cart is empty")
        self.orders += 1
        order = Order(order_id=f"order-{self.orders}", charged_eur=self._total(), payment=payment)
        self.items.clear()
        return order

    def _total(self) -> float:
        return round(sum(_PRICES_EUR[isbn] * n for isbn, n in self.items.items()), 2)
