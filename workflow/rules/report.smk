rule plot_summary:
    input:
        "results/cross_corpus_uar.csv",
    output:
        report(
            "results/plots/cross_corpus_uar.png",
            caption="../report/uar_heatmap.rst",
            category="Cross-corpus UAR",
        ),
    log:
        "results/logs/plots/cross_corpus_uar.log",
    localrule: True
    conda:
        "../envs/xcorpus.yaml"
    script:
        "../scripts/plot_summary.py"


rule plot_experiment:
    input:
        unpack(plot_inputs),
    output:
        confusion=report(
            "results/plots/{experiment}/confusion.png",
            caption="../report/confusion.rst",
            category="Confusion matrices",
            subcategory="{experiment}",
        ),
        curves=report(
            "results/plots/{experiment}/learning_curves.png",
            caption="../report/learning_curves.rst",
            category="Learning curves",
            subcategory="{experiment}",
        ),
        difficulty=report(
            "results/plots/{experiment}/accuracy_by_difficulty.png",
            caption="../report/difficulty.rst",
            category="Accuracy against difficulty",
            subcategory="{experiment}",
        ),
    log:
        "results/logs/plots/{experiment}.log",
    localrule: True
    conda:
        "../envs/xcorpus.yaml"
    script:
        "../scripts/plot_experiment.py"
