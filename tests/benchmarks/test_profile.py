"""py-spy's collapsed stacks, summarized by layer and function."""

from __future__ import annotations

from benchmarks.profile import count_layers, summarize

SITE = "/venv/lib/python3.11/site-packages"
STACKS = [
    f'process 1:"python";run ({SITE}/uvicorn/server.py:10);'
    f"execute ({SITE}/strawberry/schema/schema.py:5);"
    f"complete ({SITE}/graphql/execution/execute.py:7) 6",
    f'process 1:"python";run ({SITE}/uvicorn/server.py:10);'
    f"send ({SITE}/httpx/_client.py:3);"
    "select (/usr/lib/python3.11/asyncio/base_events.py:1) 3",
    f'process 1:"python";run ({SITE}/uvicorn/server.py:10);'
    "load (schema/loaders.py:9);<lambda> (<string>:1) 1",
    "garbage",
]


def test_a_sample_counts_for_the_package_of_its_innermost_frame() -> None:
    layers, total = count_layers(STACKS)

    assert total == 10
    assert layers == {"graphql-core": 6, "asyncio": 3, "our schema/": 1}


def test_the_summary_names_the_costliest_functions() -> None:
    text = summarize(STACKS)

    assert text.startswith("# py-spy: 10 samples")
    assert "| complete (graphql/execution/execute.py) | 60.0% |" in text
    assert "| run (uvicorn/server.py) | 100.0% |" in text
    assert "| graphql-core | 60.0% |" in text
    assert "| load (schema/loaders.py) | 10.0% |" in text


def test_short_file_names_are_classified_too() -> None:
    stacks = [
        "a (gateway/cli.py:1);b (graphql/execution/executor.py:2) 2",
        "a (gateway/cli.py:1);c (schema/types/application.py:3) 1",
        "a (gateway/cli.py:1);d (json/encoder.py:4) 1",
    ]

    layers, _ = count_layers(stacks)

    assert layers == {"graphql-core": 2, "our schema/": 1, "json": 1}


def test_no_samples_says_so() -> None:
    assert summarize([]) == "no samples\n"
