"""Named training configurations for ``mlplab train --preset NAME``; explicit flags override them."""

from __future__ import annotations

PRESETS: dict[str, dict] = {
    # The lab's own network is RunConfig's defaults (config.py, their one home): nothing to change.
    "lab": {},
    # Time to accuracy on Fashion-MNIST: ≥ 0.900 test accuracy, fast (the race and its timings: BENCHMARKS.md).
    "fast": dict(dataset="fashion-mnist", hidden=(256, 128), activation="relu", output="softmax",
                 loss="cross_entropy", optimizer="adam", lr=2e-3, schedule="cosine", dropout=0.2,
                 batch_size=512, epochs=24, init="auto", val_fraction=1 / 60),
}

DESCRIPTIONS: dict[str, str] = {
    "lab": "the lab's network: circles, 2-10-2 tanh, softmax + cross-entropy, SGD lr 0.1, batch 10",
    "fast": "Fashion-MNIST in seconds: 784-256-128-10 ReLU, Adam lr 2e-3, cosine, dropout 0.2, batch 512, "
            "24 epochs, 1k validation rows",
}
