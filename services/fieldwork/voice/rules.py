"""Citizen voice: masking personal names in free comments (pure).

The rule, applied in this order (a masked name becomes `[nom]`):
1. a civility title (M., Mr, Monsieur, Mme, Madame, Mlle, Mademoiselle, Dr, Docteur, Maître,
   Me) followed by one or two capitalised words, with a particle (de, du, des, le, la, d', l')
   allowed before each: the title stays, the name goes ("Mme [nom]");
2. a capitalised word after "nommé(e)", "appelé(e)", "prénommé(e)", "s'appelle" or
   "s'appelait" ("l'agent s'appelait [nom]");
3. a common French first name (list below) written as a word of its own, with the
   capitalised word or initial that follows it ("[nom]" for "Julien D." or "Sophie Martin");
   a first name that is also a common word (Claire, Rose...) only when it does not start a
   sentence; never inside a compound place name ("Saint-Étienne", "Jean-Jaurès" streets are
   preceded or followed by a hyphen).
Names the rule misses (a rare first name alone) stay: the comment is kept for the structure,
never published, and partners are asked to mask at the source too.
"""

from __future__ import annotations

import re

APOSTROPHES = "'\u2019"  # straight and typographic
UPPER = "A-ZÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸÆŒ"
WORD = rf"[{UPPER}][\w{APOSTROPHES}]*(?:-[{UPPER}][\w{APOSTROPHES}]*)*"
PARTICLE = rf"(?:(?:de|du|des|le|la)\s+|[dl][{APOSTROPHES}])"
TITLE = r"(?:M\.|Mr\.?|Mme\.?|Mlle\.?|Monsieur|Madame|Mademoiselle|Dr\.?|Docteur|Maître|Me)"
MASK = "[nom]"

FIRST_NAMES = frozenset(
    [
        "Adam",
        "Adrien",
        "Agathe",
        "Agnès",
        "Alain",
        "Alexandre",
        "Alexis",
        "Alice",
        "Aline",
        "Amandine",
        "Amélie",
        "Anaïs",
        "André",
        "Anne",
        "Annie",
        "Antoine",
        "Arnaud",
        "Arthur",
        "Aurélie",
        "Baptiste",
        "Benjamin",
        "Benoît",
        "Bernard",
        "Brigitte",
        "Bruno",
        "Camille",
        "Caroline",
        "Catherine",
        "Cécile",
        "Céline",
        "Chantal",
        "Charles",
        "Charlotte",
        "Chloé",
        "Christian",
        "Christine",
        "Christophe",
        "Claude",
        "Clément",
        "Colette",
        "Corinne",
        "Damien",
        "Daniel",
        "David",
        "Denis",
        "Didier",
        "Dominique",
        "Dylan",
        "Éléonore",
        "Élise",
        "Élodie",
        "Éloïse",
        "Emma",
        "Emmanuel",
        "Émilie",
        "Éric",
        "Estelle",
        "Étienne",
        "Fabien",
        "Fabrice",
        "Fanny",
        "Fatima",
        "Florence",
        "Florian",
        "François",
        "Françoise",
        "Frédéric",
        "Gabriel",
        "Gaëlle",
        "Georges",
        "Gérard",
        "Gilles",
        "Guillaume",
        "Hélène",
        "Henri",
        "Hugo",
        "Inès",
        "Isabelle",
        "Jacques",
        "Jean",
        "Jeanne",
        "Jérémy",
        "Jérôme",
        "Joël",
        "Jonathan",
        "Joseph",
        "Josiane",
        "Julie",
        "Julien",
        "Juliette",
        "Karim",
        "Karine",
        "Kenza",
        "Kévin",
        "Laetitia",
        "Laura",
        "Laurence",
        "Laurent",
        "Léa",
        "Léo",
        "Linda",
        "Louis",
        "Louise",
        "Luc",
        "Lucas",
        "Lucie",
        "Manon",
        "Marc",
        "Marcel",
        "Margaux",
        "Marie",
        "Marine",
        "Martine",
        "Mathieu",
        "Mathilde",
        "Maxime",
        "Mélanie",
        "Michel",
        "Michèle",
        "Mohamed",
        "Monique",
        "Nadia",
        "Nadine",
        "Nathalie",
        "Nicolas",
        "Nicole",
        "Noémie",
        "Olivier",
        "Pascal",
        "Pascale",
        "Patricia",
        "Patrick",
        "Paul",
        "Pauline",
        "Philippe",
        "Pierre",
        "Rachid",
        "Raphaël",
        "Rémi",
        "Robert",
        "Romain",
        "Rose",
        "Samuel",
        "Sandrine",
        "Sarah",
        "Sébastien",
        "Sophie",
        "Stéphane",
        "Stéphanie",
        "Sylvie",
        "Théo",
        "Thierry",
        "Thomas",
        "Valérie",
        "Véronique",
        "Victor",
        "Vincent",
        "Virginie",
        "Xavier",
        "Yannick",
        "Yasmine",
        "Yves",
        "Zoé",
        "Claire",
    ]
)
# First names that are also ordinary words: masked only when not starting a sentence.
AMBIGUOUS = frozenset({"Claire", "Rose", "Marine", "Pierre", "Colette", "Noémie", "Dominique"})

_TITLED = re.compile(rf"\b({TITLE})\s+{PARTICLE}?{WORD}(?:\s+{PARTICLE}?{WORD})?")
_INTRODUCED = re.compile(
    rf"\b(nommée?|appelée?|prénommée?|s[{APOSTROPHES}]appel(?:le|ait))\s+{WORD}", re.IGNORECASE
)
_FIRST = re.compile(
    rf"(?<![\w-])({'|'.join(sorted(FIRST_NAMES, key=len, reverse=True))})"
    rf"(?![\w-])(?:\s+(?:[{UPPER}]\.|{WORD}(?![\w-])))?"
)
_SENTENCE_START = re.compile(r"(?:^|[.!?…]\s*)$")


def _first_name(match: re.Match[str]) -> str:
    name = match.group(1)
    before = match.string[: match.start()]
    if name in AMBIGUOUS and _SENTENCE_START.search(before):
        return match.group(0)
    return MASK


def mask_names(comment: str) -> str:
    """The comment with personal names replaced by `[nom]` (see the module's rule)."""
    masked = _TITLED.sub(lambda m: f"{m.group(1)} {MASK}", comment)
    masked = _INTRODUCED.sub(lambda m: f"{m.group(1)} {MASK}", masked)
    return _FIRST.sub(_first_name, masked)
