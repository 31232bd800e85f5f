"""`make bench-scale` makes moto answer a Query from the one partition it names, as DynamoDB does
(tools/localapi/scale.py `_queries_read_one_partition`; moto sorts the whole table for each
Query, which made the policy mix's slot Queries quadratic). The answers must be moto's own:
the same items, order and pages for every key condition the store uses, and more."""

from __future__ import annotations

from typing import Any

import pytest

from localapi import scale

CONDITIONS: list[dict[str, Any]] = [
    {"KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": {"S": "P#1"}}},
    {
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :p)",
        "ExpressionAttributeValues": {":pk": {"S": "P#1"}, ":p": {"S": "!jwt~"}},
        "ConsistentRead": True,
    },
    {
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :p)",
        "ExpressionAttributeValues": {":pk": {"S": "P#1"}, ":p": {"S": "m"}},
        "ScanIndexForward": False,
    },
    {
        "KeyConditionExpression": "pk = :pk AND sk BETWEEN :a AND :b",
        "ExpressionAttributeValues": {":pk": {"S": "P#1"}, ":a": {"S": "member0003"}, ":b": {"S": "member0011"}},
    },
    {
        "KeyConditionExpression": "pk = :pk AND sk > :a",
        "ExpressionAttributeValues": {":pk": {"S": "P#2"}, ":a": {"S": "b"}},
    },
    {
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :p)",
        "FilterExpression": "live = :yes",
        "ExpressionAttributeValues": {":pk": {"S": "P#1"}, ":p": {"S": "member"}, ":yes": {"BOOL": True}},
    },
    {"KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": {"S": "P#none"}}},
    *(
        {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :p)",
            "ExpressionAttributeValues": {":pk": {"S": "P#2"}, ":p": {"S": prefix}},
            "ScanIndexForward": forward,
        }
        for prefix in ("c", "zz", "!", "member001")  # the last block, none, the first, a middle one
        for forward in (True, False)
    ),
]


def _pages(client: Any, condition: dict[str, Any], limit: int | None) -> list[list[dict[str, Any]]]:
    pages, start = [], None
    while True:
        extra = {"Limit": limit} if limit else {}
        if start:
            extra["ExclusiveStartKey"] = start
        reply = client.query(TableName="t", **condition, **extra)
        pages.append(reply["Items"])
        start = reply.get("LastEvaluatedKey")
        if not start:
            return pages


def test_the_one_partition_query_answers_as_moto_does(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto import mock_aws
    from moto.dynamodb.models.table import Table

    monkeypatch.setattr(Table, "query", Table.query)  # the bench's patch is undone after the test
    with mock_aws():
        import boto3

        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk")],
            BillingMode="PAY_PER_REQUEST",
        )
        for pk in ("P#1", "P#2", "P#0"):
            for sk in [f"member{n:04d}" for n in range(20)] + [f"!jwt~{n}" for n in range(3)] + ["a", "b", "c"]:
                client.put_item(
                    TableName="t", Item={"pk": {"S": pk}, "sk": {"S": sk}, "live": {"BOOL": sk[-1] in "02468"}}
                )
        before = [_pages(client, c, limit) for c in CONDITIONS for limit in (None, 3)]
        whole_table = [0]
        all_items = Table.all_items

        def counted(self: Any) -> Any:
            whole_table[0] += 1
            return all_items(self)

        monkeypatch.setattr(Table, "all_items", counted)
        scale._queries_read_one_partition()
        after = [_pages(client, c, limit) for c in CONDITIONS for limit in (None, 3)]
    assert after == before
    assert any(len(pages) > 1 for pages in before) and any(items for pages in before for items in pages)
    assert whole_table[0] == 0, "a Query still sorted the whole table"
