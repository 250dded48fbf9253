"""Keras 3 with Runwatch's callback: epoch metrics, and batch metrics every 5 batches. Any backend;
torch by default here (set KERAS_BACKEND to choose). A small dense model on random data.

    python examples/keras_example.py
"""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from runwatch.integrations.keras import RunwatchKerasCallback  # noqa: E402

keras.utils.set_random_seed(0)
x = np.random.rand(1024, 10).astype("float32")
y = (x.sum(axis=1, keepdims=True) > 5).astype("float32")
model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(16, activation="relu"),
                          keras.layers.Dense(1, activation="sigmoid")])
model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy", metrics=["accuracy"])
model.fit(x, y, epochs=8, batch_size=32, validation_split=0.2, verbose=0,
          callbacks=[RunwatchKerasCallback(project="examples", name="keras-dense", batch_frequency=5)])
