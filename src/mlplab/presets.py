"""Named training configurations for ``mlplab train --preset NAME``; explicit flags override them."""

from __future__ import annotations

PRESETS: dict[str, dict] = {
    # The lab's own network is RunConfig's defaults (config.py, their one home): nothing to change.
    "lab": {},
    # Time to accuracy on Fashion-MNIST (the race, its timings and the recipes tried: BENCHMARKS.md). No validation
    # rows: all 60k training images train, and nothing is scored between epochs.
    "fast": dict(dataset="fashion-mnist", hidden=(256, 128), activation="relu", output="softmax",
                 loss="cross_entropy", optimizer="sgd", lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4,
                 schedule="cosine", dropout=0.2, batch_size=128, epochs=24, init="auto", val_fraction=0.0),
}

DESCRIPTIONS: dict[str, str] = {
    "lab": "the lab's network: circles, 2-10-2 tanh, softmax + cross-entropy, SGD lr 0.1, batch 10",
    "fast": "Fashion-MNIST in seconds: 784-256-128-10 ReLU, SGD lr 0.05 with Nesterov momentum 0.9, L2 5e-4, "
            "cosine, dropout 0.2, batch 128, 24 epochs, no validation rows",
}
