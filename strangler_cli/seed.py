"""``strangler seed``: demo data, written through the facades so every row has its events."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from strangler_cli.databases import DATABASES, require_migrated

if TYPE_CHECKING:
    from legacy_monolith.app import Shop

_WORDS = ("Oak", "Linen", "Copper", "Slate", "Amber", "Cedar", "Wool", "Clay", "Birch", "Iron")
_THINGS = ("Mug", "Lamp", "Chair", "Bowl", "Blanket", "Shelf", "Vase", "Stool", "Desk", "Rug")


@dataclass(frozen=True, slots=True)
class SeedReport:
    """What a seed run added (existing rows are left alone)."""

    products: int
    customers: int


def seed_shop(shop: Shop, *, products: int, customers: int, rng_seed: int = 7) -> SeedReport:
    """Add ``products`` products with stock and ``customers`` customers, idempotently."""
    from legacy_monolith.platform.errors import Conflict  # the monolith loads only when used

    rng = random.Random(rng_seed)
    added_products = added_customers = 0
    for n in range(1, products + 1):
        sku = f"SKU-{n:04d}"
        name = f"{_WORDS[n % len(_WORDS)]} {_THINGS[(n // len(_WORDS)) % len(_THINGS)]} {n}"
        try:
            shop.catalog.create_product({
                "sku": sku, "name": name, "description": f"Seeded product {n}.",
                "price_cents": rng.randrange(199, 19999), "currency": "EUR", "active": True,
            })
            shop.inventory.set_stock(sku, rng.randrange(50, 500))
            added_products += 1
        except Conflict:
            continue
    for n in range(1, customers + 1):
        try:
            shop.customers.register(email=f"customer{n}@example.com", name=f"Customer {n}")
            added_customers += 1
        except Conflict:
            continue
    return SeedReport(added_products, added_customers)


@click.command()
@click.option("--products", default=50, show_default=True, type=int)
@click.option("--customers", default=10, show_default=True, type=int)
def seed(products: int, customers: int) -> None:
    """Add demo products (with stock) and customers to the monolith; safe to re-run."""
    from legacy_monolith.app import build_shop
    from legacy_monolith.platform.settings import Settings

    shop = build_shop(Settings.from_env())
    require_migrated(DATABASES["monolith"], shop.engine)
    report = seed_shop(shop, products=products, customers=customers)
    click.echo(f"added {report.products} products and {report.customers} customers")
