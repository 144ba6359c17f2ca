"""The lab's seventeen questions: their titles, what a lecturer expects (two sentences each), and the seed's
claims (the student's answer sheet, in French; it answers Q1–Q15), in English with the French key phrase.
The report sets the three beside the measurement and a verdict."""

from __future__ import annotations

CLAIMS: dict[str, tuple[str, str]] = {
    "Q1": ("Train fits the weights; validation, checked after each iteration, detects overfitting and tunes "
           "hyper-parameters; test, independent of both, estimates performance on unseen data.",
           "« L'ensemble de validation est essentiel pour éviter que le modèle ne s'ajuste trop bien aux "
           "données d'apprentissage »"),
    "Q2": ("More examples let the model generalise better; a small N risks overfitting; a large N makes "
           "training more expensive.",
           "« Un petit nombre de données peut entraîner un risque de surapprentissage »"),
    "Q3": ("Without non-linear activations the network can only learn linear relations between inputs and "
           "outputs.",
           "« le réseau serait limité à apprendre des relations linéaires simples »"),
    "Q4": ("n_x is the input dimension, n_y the number of classes, n_h is chosen by experimentation: there "
           "is no single rule.",
           "« Il n'y a pas de règle unique pour déterminer ces dimensions »"),
    "Q5": ("ŷ is the model's prediction after the forward pass, y the true label it should approach.",
           "« ŷ est la sortie prédite par le modèle … y est l'étiquette réelle »"),
    "Q6": ("SoftMax turns the outputs into a probability distribution over the classes.",
           "« transformer les sorties du réseau en une distribution de probabilité sur les classes »"),
    "Q7": ("h̃ = W_h x + b_h, h = ReLU(h̃) (an activation), ỹ = W_y h + b_y, ŷ = SoftMax(ỹ).",
           "« h̃ = W_h * x + b_h … ŷ = SoftMax(ỹ) »"),
    "Q8": ("For both losses the predictions ŷ_i must move toward the targets y_i (toward 1 for the true "
           "class, 0 for the others).",
           "« les valeurs prédites ŷ_i doivent se rapprocher autant que possible des étiquettes réelles y »"),
    "Q9": ("Cross-entropy suits classification because it penalises wrong predictions strongly; squared "
           "error suits regression because it measures the squared gap to numeric targets.",
           "« elle pénalise fortement les prédictions incorrectes »"),
    "Q10": ("Full-batch gradient descent converges to the global minimum and is stable but slow; online SGD "
            "converges even faster but noisily; mini-batch combines both and is the reasonable default.",
            "« Converge vers un minimum global du coût »"),
    "Q11": ("Too high a learning rate makes training diverge; too low a rate converges slowly or into a local "
            "minimum; the choice is empirical.",
            "« Un taux d'apprentissage trop élevé peut entraîner une divergence du modèle »"),
    "Q12": ("The naive approach computes each parameter's gradient separately and is costly; backprop reuses "
            "derivatives and considerably reduces the complexity (no growth rate given).",
            "« l'algorithme de backpropagation profite de la réutilisation des dérivées »"),
    "Q13": ("Transformations and their derivatives must be continuous, activations differentiable, and the "
            "network free of cycles.",
            "« Les fonctions d'activation doivent être différentiables, et les réseaux ne doivent pas contenir "
            "de boucles »"),
    "Q14": ("l = −Σ y_i log ŷ_i simplifies to −Σ y_i ỹ_i + log Σ e^{ỹ_i} because Σ y_i = 1.",
            "« l = −Σ y_i ỹ_i + log(Σ e^{ỹ_j}) (Σ y_i = 1) »"),
    "Q15": ("∂l/∂ỹ_i = ŷ_i − y_i.", "« ∂L/∂ỹ_i = −y_i + ŷ_i »"),
}

QUESTIONS = [f"Q{i}" for i in range(1, 18)]

TITLES = {
    "Q1": "Train, validation and test sets", "Q2": "Influence of the number N of examples",
    "Q3": "Why non-linear activations", "Q4": "The sizes n_x, n_h, n_y", "Q5": "ŷ against y",
    "Q6": "Why SoftMax at the output", "Q7": "The forward equations", "Q8": "How ŷ must move for each loss",
    "Q9": "Cross-entropy for classification, squared error for regression",
    "Q10": "Batch, mini-batch and online gradient descent", "Q11": "The learning rate",
    "Q12": "Cost of the gradient: naive against backprop", "Q13": "What backprop needs from the architecture",
    "Q14": "SoftMax + cross-entropy simplifies", "Q15": "The gradient ∂l/∂ỹ = ŷ − y",
    "Q16": "The output layer's gradients: l with respect to W_y and b_y",
    "Q17": "Through the hidden layer: l with respect to h̃, W_h and b_h",
}

LAB_EXPECTS = {
    "Q1": "The training set fits the parameters, the validation set chooses everything else (hyper-parameters, "
          "the epoch to stop at) and the test set, touched once at the end, estimates performance on new data. "
          "Selecting on the test set makes its score optimistic, so it is no longer a test.",
    "Q2": "More examples lower the variance of the fitted model: test error falls and the train–test gap "
          "shrinks, with diminishing returns once the model's bias or the data's noise dominates. The cost of an "
          "epoch grows linearly in N (the cost of a fixed number of steps does not).",
    "Q3": "A composition of affine maps is affine: without a non-linearity any depth collapses to one linear "
          "map (W1·W2·W3 for 2-10-10-2) and one straight decision boundary. A non-linearity between layers is what "
          "makes the network a universal approximator.",
    "Q4": "In figure 1, n_x = 2 (the two coordinates), n_h = 4 and n_y = 2 (two classes under a SoftMax; n_y = 1 "
          "only with a sigmoid output). n_x and n_y are fixed by the data; n_h is a free capacity choice made on "
          "validation, never on test.",
    "Q5": "y is the one-hot target, ŷ the network's distribution over the classes, with strictly positive "
          "entries summing to 1. ŷ therefore never equals y exactly; training pushes it towards y.",
    "Q6": "SoftMax maps arbitrary scores to a distribution: a differentiable, soft arg-max. With cross-entropy it "
          "makes training maximum likelihood of a categorical model.",
    "Q7": "h̃ = W_h x + b_h, h = tanh(h̃), ỹ = W_y h + b_y, ŷ = SoftMax(ỹ), with W_h of shape n_h × n_x and W_y "
          "of shape n_y × n_h. The lab's network uses tanh for the hidden activation.",
    "Q8": "To lower either loss ŷ must move towards y: the true class's probability up, the others down. "
          "Cross-entropy acts on the true class's log-probability only (∂l/∂ŷ_i = −y_i/ŷ_i); squared error acts on "
          "every component (2(ŷ_i − y_i)).",
    "Q9": "Squared error is the negative log-likelihood of a Gaussian with fixed variance, cross-entropy that of "
          "a categorical distribution: each is maximum likelihood for its kind of target. Through a SoftMax, "
          "cross-entropy also keeps a gradient of size ~1 on confident mistakes where squared error's vanishes.",
    "Q10": "Full batch gives exact but costly steps, online cheap but noisy ones, mini-batch sits between and "
           "vectorises well, which makes it the usual choice. None of the three guarantees the global minimum of a "
           "non-convex loss.",
    "Q11": "Too large a rate makes the loss oscillate or diverge; too small a rate makes progress slow. The "
           "good range is found on validation, often within a factor of a few of the divergence threshold.",
    "Q12": "Finite differences need O(P) forward passes, with P ≈ L·w² parameters, so O(L²w⁴) operations; the chain "
           "rule applied per layer without reuse needs O(L²) layer products. Backprop reuses each layer's δ: one "
           "forward and one backward pass, O(L·w²) time and O(L·w) memory for the stored activations.",
    "Q13": "Every operation must be differentiable almost everywhere with informative (non-zero) derivatives, and "
           "the graph must be acyclic so that the chain rule can be applied in reverse topological order. "
           "Continuity of the derivative is not needed (ReLU).",
    "Q14": "l = −Σ y_i log ŷ_i with log ŷ_i = ỹ_i − log Σ_j e^{ỹ_j} gives −Σ y_i ỹ_i + (Σ y_i) log Σ_j e^{ỹ_j}, and "
           "Σ y_i = 1 finishes it. Computed this way (log-sum-exp shifted by max ỹ) the loss never overflows.",
    "Q15": "∂l/∂ỹ_i = −y_i + e^{ỹ_i} / Σ_j e^{ỹ_j} = ŷ_i − y_i. The same result follows from the chain rule "
           "through the SoftMax Jacobian diag(ŷ) − ŷŷᵀ.",
    "Q16": "With δ_y = ∂l/∂ỹ = ŷ − y and ỹ = W_y h + b_y: ∇_{W_y} l = δ_y hᵀ (n_y × n_h) and ∇_{b_y} l = δ_y. "
           "Over a batch the gradients are averaged.",
    "Q17": "∇_h l = W_yᵀ δ_y, and through tanh δ_h = ∇_{h̃} l = (W_yᵀ δ_y) ⊙ (1 − h²). Then ∇_{W_h} l = δ_h xᵀ "
           "(n_h × n_x) and ∇_{b_h} l = δ_h.",
}


def claim(question: str) -> str:
    """The seed's claim for a question, English then the French key phrase (or that it has none)."""
    if question not in CLAIMS:
        return "The seed does not answer this question (its sheet ends with Q15)."
    english, french = CLAIMS[question]
    return f"{english} {french}"
