"""The einsum equations of MultiHeadAttention: its projections (run by EinsumDense sublayers)
and the dot product and combination of attention over any set of attention axes."""
import string

_LETTERS = string.ascii_lowercase


def projection_equation(free_dims, bound_dims, output_dims):
    """`"abc,cde->abde"` for 2 free (batch-like) input axes, 1 contracted axis and 2 kernel
    output axes: input axes = free + bound; kernel axes = bound + output; output = free + output."""
    free = _LETTERS[:free_dims]
    bound = _LETTERS[free_dims:free_dims + bound_dims]
    out = _LETTERS[free_dims + bound_dims:free_dims + bound_dims + output_dims]
    return f"{free}{bound},{bound}{out}->{free}{out}"


def attention_equations(rank, attention_axes):
    """The einsum equations of dot-product attention on projected tensors of rank `rank`,
    shaped (batch, <other axes>, <attention axes>, heads, channels).

    Returns (dot_product, combine, scores_rank):
    - dot_product: key, query -> scores (batch, <other axes>, heads, <query attn axes>, <key attn axes>);
    - combine: scores, value -> output, shaped like the query.
    The heads axis and every non-attention axis act as batch axes of the product.
    """
    target = _LETTERS[:rank]  # the query's letters
    batch_axes = [i for i in range(rank - 1) if i not in attention_axes]  # includes the heads axis
    source, extra = "", rank
    for i in range(rank):
        if i in attention_axes:  # the key/value attention axes get letters of their own
            source += _LETTERS[extra]
            extra += 1
        else:
            source += target[i]
    scores = ("".join(target[i] for i in batch_axes) + "".join(target[i] for i in attention_axes)
              + "".join(source[i] for i in attention_axes))
    return f"{source},{target}->{scores}", f"{scores},{source}->{target}", len(scores)
