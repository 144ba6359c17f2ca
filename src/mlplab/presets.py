"""Named training configurations for ``mlplab train --preset NAME``; explicit flags override them."""

from __future__ import annotations

PRESETS: dict[str, dict] = {
    # The lab's own network: circles, one tanh hidden layer of 10, softmax + cross-entropy, plain SGD.
    "lab": dict(dataset="circles", hidden=(10,), activation="tanh", output="softmax", loss="cross_entropy",
                optimizer="sgd", lr=0.1, batch_size=10, epochs=100, init="auto"),
}

DESCRIPTIONS: dict[str, str] = {
    "lab": "the lab's network: circles, 2-10-2 tanh, softmax + cross-entropy, SGD lr 0.1, batch 10",
}
