"""matplotlib, imported only when a ``.plot()`` is called."""


def pyplot():
    """``matplotlib.pyplot``, or an ImportError that says how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            "plotting needs matplotlib: pip install 'stochnet[plot]' (or matplotlib)."
        ) from None
    return plt


def new_axes(ax, figsize=(6, 3.5)):
    """``ax``, or the axes of a new figure."""
    # constrained layout: axis labels and titles stay inside the figure
    return ax if ax is not None else pyplot().subplots(figsize=figsize, layout="constrained")[1]
