"""Transcripts: short English sentences, some carrying an emotion word.

A text model should learn something from the transcripts, but less than from clean labels: only
about 40 % of the utterances contain an emotion word, and about one in six of those words
belongs to another class (sarcasm, reported speech, plain noise). Corpus conventions are
applied on top: IEMOCAP's bracketed tags, lower-case unpunctuated ASR-like text for CMU-MOSEI
(and for the stand-in ASR output written beside MSP-IMPROV, which has no transcripts), and
SAMSEMO's subtitle typography (curly quotes, ellipses, accented names).
"""

import numpy as np

NEUTRAL = (
    "I need to pick up the forms before noon.",
    "The meeting was moved to the second floor.",
    "We drove down there on Tuesday morning.",
    "Can you pass me the folder on the table?",
    "The train leaves at a quarter past eight.",
    "She said the store closes at six today.",
    "I think the number's written on the back.",
    "They put the boxes next to the door.",
    "We should check the schedule again.",
    "He works in the office across the street.",
    "Let me see what the paper says about it.",
    "The bus was a few minutes late as usual.",
    "I left my jacket in the other room.",
    "So the next step is to fill in this page.",
    "You can call them after lunch.",
    "It takes about twenty minutes to get there.",
    "The report is due at the end of the month.",
    "I'll send you the address later.",
    "We talked about the plan for next week.",
    "There is some coffee left in the kitchen.",
)

# Sentences built around an emotion word, per class (neutral has none).
EMOTIONAL = {
    1: (
        "This is wonderful, I love it.",
        "I'm so happy you came.",
        "That's the best news all year.",
        "We did it, this is amazing.",
        "I am really excited about the trip.",
        "What a fantastic surprise party.",
        "Thank you, this made my day.",
        "Oh that is great, congratulations.",
    ),
    2: (
        "I really miss him every day.",
        "I am so sorry, I lost it.",
        "It's just so lonely here now.",
        "Nobody came, it was so sad.",
        "I cried the whole way home.",
        "It hurts to think about it.",
        "We lost the house last winter.",
        "I feel empty since she left.",
    ),
    3: (
        "This is ridiculous, I hate it.",
        "I am sick of your excuses.",
        "That is completely unacceptable.",
        "Don't lie to me, I'm furious.",
        "You never listen, it makes me angry.",
        "Get out of my office right now.",
        "This is the stupidest thing I have seen.",
        "How dare you talk to me like that.",
    ),
}
OPENERS = ("", "", "", "Well, ", "You know, ", "Honestly, ", "Okay, ", "Look, ")


def transcript(corpus: str, index: int, klass: int, rng: np.random.Generator) -> str:
    """A sentence for utterance `index`, whose acoustics follow class index `klass` (0-3)."""
    word_class = 0  # neutral content
    if rng.random() < 0.4:
        others = [c for c in range(4) if c != klass]
        word_class = int(rng.choice(others)) if rng.random() < 1 / 6 else klass
    pool = EMOTIONAL[word_class] if word_class else NEUTRAL
    sentence = pool[rng.integers(len(pool))]
    opener = OPENERS[rng.integers(len(OPENERS))]
    if opener and sentence.split()[0].split("'")[0] != "I":
        sentence = sentence[0].lower() + sentence[1:]
    return _corpus_style(corpus, opener + sentence, index, klass, rng)


def _corpus_style(corpus: str, text: str, index: int, klass: int, rng: np.random.Generator) -> str:
    """Apply the typographic habits of each corpus's transcripts.

    SAMSEMO subtitles always use typographic apostrophes, and every fourth one quotes a
    speaker by an accented name, so that any SAMSEMO demo has non-ASCII transcripts; every
    50th CMU-MOSEI segment holds the underscore run that trips naive `___` splitting.
    """
    if corpus == "IEMO" and klass == 1 and rng.random() < 0.25:
        return f"{text} [LAUGHTER]"
    if corpus in ("CMUMOSEI", "MSPI"):  # ASR-like (MSPI's are stand-in ASR output)
        words = "".join(ch for ch in text.lower() if ch.isalnum() or ch in " '")
        words += " umm" if rng.random() < 0.2 else ""
        if corpus == "CMUMOSEI" and index % 50 == 0:  # the release's runs of underscores
            words += " and then _____ happened"
        return words
    if corpus == "SAMSEMO":
        text = text.replace("'", "\u2019").replace("Well, ", "Well\u2026 ")
        if index % 4 == 0:
            name = ("Zo\u00eb", "Andr\u00e9", "J\u00fcrgen", "Ren\u00e9e")[rng.integers(4)]
            text = f"\u201c{text}\u201d \u2014 {name}"
    return text
