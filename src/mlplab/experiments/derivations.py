"""The derivations the lab asks for (Q7, Q12, Q14–Q17), written once in the lab's notation.

Each derivation is a list of steps; a step is prose (``str``) or an equation ``Eq(latex, text)``. The page
renders the LaTeX as native MathML (latex2mathml, at report time: no script, no CDN, one self-contained file);
REPORT.md and the terminal show the plain-text form. Column vectors as in the lab: W_h is n_h × n_x, the
engine's W1 is its transpose (rows are samples).
"""

from __future__ import annotations

import html
from typing import NamedTuple


class Eq(NamedTuple):
    """One displayed equation: LaTeX for the page, readable Unicode text for Markdown."""

    latex: str
    text: str


Step = str | Eq

DERIVATIONS: dict[str, list[Step]] = {
    "Q7": [
        "For one example x (a column vector of n_x numbers), the lab's network computes, in order:",
        Eq(r"\tilde{h} = W_h x + b_h, \quad W_h \in \mathbb{R}^{n_h \times n_x},\ b_h \in \mathbb{R}^{n_h}",
           "h̃ = W_h x + b_h,   W_h: n_h × n_x,  b_h: n_h"),
        Eq(r"h = \tanh(\tilde{h}) \quad \text{(element-wise)}", "h = tanh(h̃)   (element-wise)"),
        Eq(r"\tilde{y} = W_y h + b_y, \quad W_y \in \mathbb{R}^{n_y \times n_h},\ b_y \in \mathbb{R}^{n_y}",
           "ỹ = W_y h + b_y,   W_y: n_y × n_h,  b_y: n_y"),
        Eq(r"\hat{y}_i = \mathrm{SoftMax}(\tilde{y})_i = \frac{e^{\tilde{y}_i}}{\sum_{j=1}^{n_y} e^{\tilde{y}_j}}",
           "ŷ_i = SoftMax(ỹ)_i = e^{ỹ_i} / Σ_j e^{ỹ_j}"),
        "A batch stores one example per row, X of shape B × n_x, so the engine computes the transposed products "
        "with W1 = W_hᵀ and W2 = W_yᵀ:",
        Eq(r"\tilde{H} = X W_h^\top + \mathbf{1} b_h^\top, \quad H = \tanh(\tilde{H}), \quad "
           r"\tilde{Y} = H W_y^\top + \mathbf{1} b_y^\top",
           "H̃ = X W_hᵀ + 1 b_hᵀ,   H = tanh(H̃),   Ỹ = H W_yᵀ + 1 b_yᵀ"),
    ],
    "Q12": [
        "Take L layers of width w and a batch of B examples. The network has P ≈ L·w² parameters and one forward "
        "pass costs about L·w²·B multiply-adds.",
        "Naive approach 1, finite differences: one pair of forward passes per parameter,",
        Eq(r"\frac{\partial l}{\partial \theta_k} \approx \frac{l(\theta + \varepsilon e_k) - "
           r"l(\theta - \varepsilon e_k)}{2\varepsilon}, \quad k = 1..P \;\Rightarrow\; "
           r"2P \cdot L w^2 B = \mathcal{O}(L^2 w^4 B)",
           "∂l/∂θ_k ≈ (l(θ + ε e_k) − l(θ − ε e_k)) / 2ε for k = 1..P  ⇒  2P · L w² B = O(L² w⁴ B)"),
        "Naive approach 2, the chain rule without reuse: the gradient of layer k is the product of the "
        "Jacobians from the output down to k, recomputed for each k,",
        Eq(r"\delta_k = D_k W_{k+1}^\top D_{k+1} \cdots W_L^\top \delta_L, \quad "
           r"\sum_{k=1}^{L} (L - k) = \frac{L(L-1)}{2} \;\Rightarrow\; \mathcal{O}(L^2 w^2 B)",
           "δ_k = D_k W_{k+1}ᵀ D_{k+1} ⋯ W_Lᵀ δ_L  (D_k = diag σ'(h̃_k));  Σ_k (L − k) = L(L − 1)/2 products  "
           "⇒  O(L² w² B)"),
        "Backpropagation computes the same δ_k from the one above it, once each:",
        Eq(r"\delta_k = (W_{k+1}^\top \delta_{k+1}) \odot \sigma'(\tilde{h}_k), \quad "
           r"\nabla_{W_k} l = \delta_k h_{k-1}^\top \;\Rightarrow\; \mathcal{O}(L w^2 B)\ \text{time},\ "
           r"\mathcal{O}(L w B)\ \text{memory}",
           "δ_k = (W_{k+1}ᵀ δ_{k+1}) ⊙ σ'(h̃_k),  ∇_{W_k} l = δ_k h_{k−1}ᵀ  ⇒  O(L w² B) time, O(L w B) memory "
           "(the stored activations)"),
        "So in depth: finite differences grow as L², the chain rule without reuse as L², backprop as L; in "
        "width: finite differences as w⁴, the other two as w². Backprop's whole gradient costs a small constant "
        "times one forward pass.",
    ],
    "Q14": [
        "Start from the cross-entropy and substitute the SoftMax:",
        Eq(r"l = -\sum_i y_i \log \hat{y}_i = -\sum_i y_i \log \frac{e^{\tilde{y}_i}}{\sum_j e^{\tilde{y}_j}}",
           "l = −Σ_i y_i log ŷ_i = −Σ_i y_i log( e^{ỹ_i} / Σ_j e^{ỹ_j} )"),
        Eq(r"l = -\sum_i y_i \tilde{y}_i + \Big(\sum_i y_i\Big) \log \sum_j e^{\tilde{y}_j}",
           "l = −Σ_i y_i ỹ_i + (Σ_i y_i) · log Σ_j e^{ỹ_j}"),
        "and, because y is a distribution (one-hot or soft), Σ_i y_i = 1:",
        Eq(r"l = -\sum_i y_i \tilde{y}_i + \log \sum_j e^{\tilde{y}_j}", "l = −Σ_i y_i ỹ_i + log Σ_j e^{ỹ_j}"),
        "Numerically, with m = max_j ỹ_j, log Σ_j e^{ỹ_j} = m + log Σ_j e^{ỹ_j − m}: no exponential of a positive "
        "number, so no overflow, and no log of an underflowed probability.",
    ],
    "Q15": [
        "Differentiate the simplified loss with respect to ỹ_i:",
        Eq(r"\frac{\partial l}{\partial \tilde{y}_i} = -y_i + \frac{e^{\tilde{y}_i}}{\sum_j e^{\tilde{y}_j}} "
           r"= \hat{y}_i - y_i, \qquad \delta_y := \nabla_{\tilde{y}} l = \hat{y} - y",
           "∂l/∂ỹ_i = −y_i + e^{ỹ_i} / Σ_j e^{ỹ_j} = ŷ_i − y_i,     δ_y := ∇_ỹ l = ŷ − y"),
        "The long way gives the same: the SoftMax Jacobian is ∂ŷ_j/∂ỹ_i = ŷ_j(1[i=j] − ŷ_i) and ∂l/∂ŷ_j = −y_j/ŷ_j,",
        Eq(r"\frac{\partial l}{\partial \tilde{y}_i} = \sum_j -\frac{y_j}{\hat{y}_j}\, \hat{y}_j "
           r"(\mathbb{1}[i=j] - \hat{y}_i) = -y_i + \hat{y}_i \sum_j y_j = \hat{y}_i - y_i",
           "∂l/∂ỹ_i = Σ_j (−y_j/ŷ_j) ŷ_j (1[i=j] − ŷ_i) = −y_i + ŷ_i Σ_j y_j = ŷ_i − y_i"),
    ],
    "Q16": [
        "Let δ_y = ∇_ỹ l = ŷ − y (Q15). Component-wise ỹ_k = Σ_j W_{y,kj} h_j + b_{y,k}, so "
        "∂ỹ_k/∂W_{y,ij} = 1[k=i] h_j and ∂ỹ_k/∂b_{y,i} = 1[k=i]. The chain rule sums over k:",
        Eq(r"\frac{\partial l}{\partial W_{y,ij}} = \sum_k \delta_{y,k}\, \mathbb{1}[k=i]\, h_j = \delta_{y,i} h_j "
           r"\;\Rightarrow\; \nabla_{W_y} l = \delta_y h^\top \in \mathbb{R}^{n_y \times n_h}",
           "∂l/∂W_{y,ij} = Σ_k δ_{y,k} 1[k=i] h_j = δ_{y,i} h_j   ⇒   ∇_{W_y} l = δ_y hᵀ   (n_y × n_h)"),
        Eq(r"\frac{\partial l}{\partial b_{y,i}} = \delta_{y,i} \;\Rightarrow\; \nabla_{b_y} l = \delta_y "
           r"= \hat{y} - y", "∂l/∂b_{y,i} = δ_{y,i}   ⇒   ∇_{b_y} l = δ_y = ŷ − y"),
        "For a batch the loss is the mean, so the gradients are means of the per-example ones; in the engine's "
        "row layout ∂L/∂W2 = Hᵀ Δ_y / B, the transpose of ∇_{W_y}:",
        Eq(r"\nabla_{W_y} L = \frac{1}{B} \sum_{b=1}^{B} \delta_y^{(b)} h^{(b)\top} = \frac{1}{B} \Delta_y^\top H",
           "∇_{W_y} L = (1/B) Σ_b δ_y^(b) h^(b)ᵀ = (1/B) Δ_yᵀ H"),
    ],
    "Q17": [
        "Back through ỹ = W_y h + b_y to h (h_j feeds every ỹ_i):",
        Eq(r"\frac{\partial l}{\partial h_j} = \sum_i \delta_{y,i} W_{y,ij} \;\Rightarrow\; "
           r"\nabla_h l = W_y^\top \delta_y",
           "∂l/∂h_j = Σ_i δ_{y,i} W_{y,ij}   ⇒   ∇_h l = W_yᵀ δ_y"),
        "Through h = tanh(h̃), element-wise, with tanh'(u) = 1 − tanh²(u):",
        Eq(r"\delta_h := \nabla_{\tilde{h}} l = (W_y^\top \delta_y) \odot (1 - h^2)",
           "δ_h := ∇_h̃ l = (W_yᵀ δ_y) ⊙ (1 − h²)"),
        "And h̃ = W_h x + b_h has the same form as ỹ = W_y h + b_y, so, as in Q16 with x in place of h:",
        Eq(r"\nabla_{W_h} l = \delta_h x^\top \in \mathbb{R}^{n_h \times n_x}, \qquad \nabla_{b_h} l = \delta_h",
           "∇_{W_h} l = δ_h xᵀ   (n_h × n_x),     ∇_{b_h} l = δ_h"),
    ],
}


def as_text(question: str) -> str:
    """The derivation as readable text (prose paragraphs, equations indented), or "" if there is none."""
    lines = []
    for step in DERIVATIONS.get(question, []):
        lines.append(f"    {step.text}" if isinstance(step, Eq) else step)
    return "\n\n".join(lines)


def as_html(question: str) -> str:
    """The derivation as HTML with native MathML equations, or "" if there is none."""
    from latex2mathml.converter import convert

    parts = []
    for step in DERIVATIONS.get(question, []):
        if isinstance(step, Eq):
            parts.append(convert(step.latex, display="block"))
        else:
            parts.append(f"<p>{html.escape(step)}</p>")
    return "".join(parts)
