"""``strangler dlq``: inspect and replay a consumer's dead-letter queue."""

from __future__ import annotations

import json

import click
import pika

from strangler_cli.settings import amqp_url, topology
from strangler_messaging.dead_letters import list_dead_letters, replay_dead_letters


@click.group()
def dlq() -> None:
    """Dead-letter queues: what a consumer could not apply, and why."""


@dlq.command("list")
@click.argument("consumer")
@click.option("--limit", default=100, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def dlq_list(consumer: str, limit: int, as_json: bool) -> None:
    """Show up to LIMIT dead letters of CONSUMER (they stay in the queue)."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url()))
    try:
        letters = list_dead_letters(connection.channel(), topology(), consumer, limit)
    finally:
        connection.close()
    if as_json:
        click.echo(json.dumps([{"event_id": d.event_id, "type": d.event_type,
                                "reason": d.reason, "attempts": d.attempts,
                                "failed_at": d.failed_at} for d in letters], indent=2))
        return
    if not letters:
        click.echo(f"{topology().dead_letter_queue(consumer)} is empty")
        return
    for letter in letters:
        click.echo(f"{letter.event_id or '-':<38}{letter.event_type:<40}{letter.failed_at}")
        click.echo(f"    {letter.reason}")


@dlq.command("replay")
@click.argument("consumer")
@click.option("--id", "event_ids", multiple=True, help="Only this event id (repeatable).")
def dlq_replay(consumer: str, event_ids: tuple[str, ...]) -> None:
    """Move dead letters of CONSUMER back to its queue, after the cause is fixed."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url()))
    try:
        moved = replay_dead_letters(connection.channel(), topology(), consumer,
                                    set(event_ids) if event_ids else None)
    finally:
        connection.close()
    click.echo(f"replayed {moved} dead letter(s) to {topology().queue(consumer)}")
