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


rule feature_map:
    input:
        feature_map_inputs,
    output:
        report(
            "results/plots/feature_map/{features}.png",
            caption="../report/feature_map.rst",
            category="Feature maps",
        ),
    log:
        "results/logs/plots/feature_map/{features}.log",
    conda:
        "../envs/xcorpus.yaml"
    params:
        panels=feature_map_panels,
        per_corpus=config["feature_map_per_corpus"],
    script:
        "../scripts/plot_feature_map.py"


rule plot_dimensional:
    input:
        unpack(plot_inputs),
    output:
        scatter=report(
            "results/plots/{experiment}/vad_scatter.png",
            caption="../report/vad_scatter.rst",
            category="True against predicted V/A/D",
            subcategory="{experiment}",
        ),
        curves=report(
            "results/plots/{experiment}/ccc_curves.png",
            caption="../report/ccc_curves.rst",
            category="Validation CCC",
            subcategory="{experiment}",
        ),
    log:
        "results/logs/plots/{experiment}.dimensional.log",
    conda:
        "../envs/xcorpus.yaml"
    script:
        "../scripts/plot_dimensional.py"
