"""Does a marked token appear anywhere in a sequence? Attention versus an MLP.

Each sequence has 32 tokens, each one of 16 random unit vectors in 8-D plus a little
noise; in half of the sequences one token, at a random position, is the "marker"
vector (``stochnet.datasets.make_marked_tokens``). An MLP on the flattened sequence
must learn a separate detector for every position; attention learns one detector and
lets every token look at all the others.

Run: ``python examples/marked_token.py``
"""

import time

from stochnet import AttentionClassifier, MLPClassifier
from stochnet.datasets import make_marked_tokens


def main():
    X, y = make_marked_tokens(6000, random_state=0)
    X_train, y_train, X_test, y_test = X[:5000], y[:5000], X[5000:], y[5000:]
    models = {
        "attention": AttentionClassifier(d_model=32, n_heads=4, n_layers=1, d_ff=64,
                                          batch_size=64, learning_rate_init=3e-3,
                                          max_iter=40, random_state=0),
        "MLP (256, 256) on the flattened sequence": MLPClassifier(
            (256, 256), max_iter=200, early_stopping=True, random_state=0
        ),
    }  # fmt: skip
    for name, model in models.items():
        tic = time.perf_counter()
        fit_X = X_train if name == "attention" else X_train.reshape(len(X_train), -1)
        test_X = X_test if name == "attention" else X_test.reshape(len(X_test), -1)
        model.fit(fit_X, y_train)
        print(
            f"{name:42s} test accuracy {model.score(test_X, y_test):.3f}  "
            f"({time.perf_counter() - tic:.0f} s)"
        )


if __name__ == "__main__":
    main()
