"""Graph-building helpers shared by the functional models' constructors."""


def apply_in_turn(layers, inputs):
    """Call `layers` one after the other, each on the previous one's output."""
    x = inputs
    for layer in layers:
        x = layer(x)
    return x
