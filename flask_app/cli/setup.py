"""``relief setup``: register a product version, create its policy and store the insured roster."""

from __future__ import annotations

import click

from flask_app.cli.common import database_option, fail, open_db


@click.command()
@click.option("--product", "product_path", required=True,
              help="产品定义 YAML/JSON，或目录中的名称 / product document, or a catalog name")
@click.option("--framed-heads", required=True, type=int, help="承保人数 / framed heads (insured persons paid for)")
@click.option("--persons", required=True, type=click.Path(exists=True, dir_okay=False), help="人员名单 / persons file")
@click.option("--households", required=True, type=click.Path(exists=True, dir_okay=False), help="户名单 / households file")
@click.option("--county-cosign", is_flag=True, default=False,
              help="县扶贫办会签后方可支付 / the county office co-signs each payout batch before it is paid")
@database_option
def setup(product_path: str, framed_heads: int, persons: str, households: str, database_url: str | None,
          county_cosign: bool = False) -> None:
    """登记产品、创建保单并导入参保名单 / Register the product, create the policy and store the roster."""
    from claims.lifecycle.database import transaction
    from claims.lifecycle.registry import RegistryError, create_policy, register_product
    from claims.lifecycle.roster_store import store_roster
    from flask_app.cli.audit import operator
    from products import ProductError, load_product
    from products.eligibility import CountyMismatchError, check_roster_county
    from products.roster import RosterError, check_roster, load_households, load_persons
    from tabular.files import TableError

    try:
        product = load_product(product_path)
        p, h = load_persons(persons), load_households(households)
        check_roster(p, h)
        check_roster_county(product, h)  # a product runs on its own county's roster only
        with transaction(open_db(database_url)) as session:
            version = register_product(session, product)
            policy = create_policy(session, version, framed_heads, county_cosign=county_cosign)
            counts = store_roster(session, p, h, actor_name=operator())
            policy_id = policy.id
    except (ProductError, RosterError, TableError, RegistryError, CountyMismatchError) as exc:
        fail(str(exc))
    click.echo(f"产品版本 / product version: {product.code} ({product.digest[:12]})")
    click.echo(f"户 / households: +{counts['households_inserted']} ~{counts['households_updated']}   "
               f"人 / persons: +{counts['persons_inserted']} ~{counts['persons_updated']}")
    click.echo(f"保单 / policy: {policy_id}")
