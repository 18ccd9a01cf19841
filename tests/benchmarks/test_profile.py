"""py-spy's collapsed stacks, summarized by layer and function."""

from __future__ import annotations

from benchmarks.profile import count_layers, summarize

STACKS = [
    'process 1:"python";run (uvicorn/server.py:10);execute (strawberry/schema.py:5);'
    "complete (graphql/execution/execute.py:7) 6",
    'process 1:"python";run (uvicorn/server.py:10);send (httpx/_client.py:3) 3',
    'process 1:"python";run (uvicorn/server.py:10);'
    "load (/work/main/schema/loaders.py:9) 1",
    "garbage",
]


def test_layers_count_a_sample_once_per_layer_on_its_stack() -> None:
    layers, total = count_layers(STACKS)

    assert total == 10
    assert layers["uvicorn"] == 10
    assert layers["strawberry"] == 6 and layers["graphql-core"] == 6
    assert layers["httpx"] == 3
    assert layers["our schema/"] == 1


def test_the_summary_names_the_costliest_functions() -> None:
    text = summarize(STACKS)

    assert text.startswith("# py-spy: 10 samples")
    assert "| complete (graphql/execution/execute.py) | 60.0% |" in text
    assert "| run (uvicorn/server.py) | 100.0% |" in text
    assert "| load (schema/loaders.py) | 10.0% |" in text


def test_no_samples_says_so() -> None:
    assert summarize([]) == "no samples\n"
