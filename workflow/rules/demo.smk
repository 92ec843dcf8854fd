rule demo_corpus:
    output:
        directory("results/demo/{corpus}"),
    log:
        "results/logs/demo/{corpus}.log",
    conda:
        "../envs/xcorpus.yaml"
    params:
        seed=config["demo"]["seed"],
        utterances=config["demo"]["utterances"],
        expression=config["demo"]["expression"],
        ambiguity=config["demo"]["ambiguity"],
    shell:
        "xcorpus demo {wildcards.corpus} {output} --seed {params.seed}"
        " --utterances {params.utterances} --expression {params.expression}"
        " --ambiguity {params.ambiguity} > {log} 2>&1"
