"""Write ``sentences.tsv``, the stimulus table of the demo dataset.

The sentences were written for jne. Each category has a few sentence
frames, and each frame has lists of phrases that read naturally in any
combination. The script draws combinations with a fixed seed and caps how
often any phrase is reused, so the sentences stay varied. Run it from the
repository root to rebuild the table::

    python jne/data/make_sentences.py

The output is deterministic: the same script always writes the same file.
"""

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20251013
PER_CATEGORY = 100

PEOPLE_SUBJECTS = [
    "A young woman", "An old man", "A little girl", "A teenage boy",
    "A bearded man", "A grandmother", "A nurse in scrubs", "A bride",
    "A tired student", "A waiter", "A man in glasses", "A woman with freckles",
]
PEOPLE_ACTIONS = [
    "smiles at the camera", "laughs at a joke", "frowns at a letter",
    "winks at a friend", "stares out of the window",
    "yawns and rubs both eyes",
    "listens with a puzzled look", "blushes after a compliment",
    "raises an eyebrow in surprise", "whispers a secret to a friend",
    "bites a lip nervously", "grins from ear to ear",
]
PEOPLE_PLACES = [
    "in a crowded cafe", "at a family dinner", "on a train platform",
    "at the back of a classroom", "in a hospital corridor",
    "at a wedding party", "in a small office", "in a waiting room",
    "on a park bench", "at a bus stop",
]
FACES = [
    "a woman with red hair and freckles", "an old man with a grey beard",
    "a baby with chubby cheeks", "a boy with a missing front tooth",
    "a woman with deep laugh lines", "a man with a scar above one eye",
    "a girl with braided hair", "a sunburnt fisherman",
    "a woman wearing bright lipstick", "a man with bushy eyebrows",
]
EXPRESSIONS = [
    "smiling", "looking worried", "deep in thought", "laughing loudly",
    "close to tears", "looking calm", "looking surprised", "half asleep",
]

BODY_SUBJECTS = [
    "A dancer", "A runner", "A gymnast", "A climber", "A boxer",
    "A yoga teacher", "A construction worker", "A tennis player",
    "A martial artist", "An acrobat", "A weightlifter", "A young athlete",
]
BODY_ACTIONS = [
    "stretches both arms overhead", "bends forward to touch the floor",
    "kicks one leg high into the air", "balances on one foot",
    "jumps with knees pulled up", "twists the upper body to one side",
    "crouches low before springing up", "lifts a heavy weight overhead",
    "spins around on tiptoe", "leans back with arms spread wide",
    "does a row of push-ups", "lunges forward on one knee",
]
BODY_PLACES = [
    "in a bright gym", "on a wooden stage", "in an empty studio",
    "on a sports field", "in front of a mirror", "on a rooftop terrace",
    "in a school hall", "on a training mat",
]
BODY_PARTS = [
    "Two strong hands grip a climbing rope",
    "Bare feet push off from the edge of a pool",
    "A muscular arm pulls back a bowstring",
    "Tired legs pedal hard up a steep hill",
    "A bent knee rests on a yoga mat",
    "Two hands clap above a dancer's head",
    "A swimmer's shoulders rise out of the water",
    "A runner's foot strikes the track",
    "Fingers stretch wide to catch a ball",
    "A bare back arches in a slow stretch",
]
BODY_PART_ENDINGS = [
    "during practice", "in slow motion", "at the end of a long day",
    "under bright lights", "before a competition",
]

ANIMALS = [
    "A brown dog", "A tabby cat", "A young horse", "A grey squirrel",
    "A red fox", "A goat", "A white rabbit", "A deer", "A small pig",
    "A dairy cow", "A lamb", "A raccoon",
]
ANIMAL_ACTIONS = [
    "sleeps in the shade", "sniffs the air", "looks straight at the camera",
    "stands very still", "walks slowly", "drinks from a puddle",
    "yawns widely", "rolls over onto its back", "lies down to rest",
    "turns its head towards a noise", "runs in circles",
    "watches a passing car",
]
ANIMAL_PLACES = [
    "in a muddy field", "beside a farm gate", "at the edge of a forest",
    "on a snowy hill", "near a stream", "in a backyard", "by a stone wall",
    "in tall grass",
]
SMALL_ANIMALS = [
    "A bee lands on a purple flower", "A frog sits on a lily pad",
    "An owl blinks on a branch", "A goldfish swims in a glass bowl",
    "A snail crawls along a wet leaf", "A parrot cracks open a seed",
    "A duck paddles across a pond", "A butterfly rests on a fence post",
    "A lizard suns itself on a rock", "A robin pulls a worm from the soil",
]
SMALL_ANIMAL_ENDINGS = [
    "in the early morning", "on a warm afternoon", "after the rain",
    "while the wind blows", "in the garden",
]

FOODS = [
    "A bowl of tomato soup", "A plate of spaghetti",
    "A slice of chocolate cake",
    "A stack of pancakes", "A basket of fresh bread", "A pot of steaming rice",
    "A tray of roasted vegetables", "A platter of sushi", "A cheese pizza",
    "A green salad", "A bowl of strawberries", "A grilled fish",
]
FOOD_VERBS = [
    "sits on", "waits on", "stands ready on", "is served on", "is set down on",
]
FOOD_SURFACES = [
    "a wooden table", "the kitchen counter", "a picnic blanket",
    "a restaurant table", "a white tablecloth", "a metal tray",
    "a stone bench", "a market stall",
]
COOKING = [
    "Someone slices ripe tomatoes", "A cook stirs a pot of curry",
    "A baker kneads a ball of dough", "Someone peels a pile of potatoes",
    "A chef flips an omelette", "Someone grates cheese over pasta",
    "A boy spreads butter on toast", "Someone pours honey over yoghurt",
    "A grandmother rolls out pastry", "Someone squeezes lemons into a jug",
]
COOKING_PLACES = [
    "in a busy kitchen", "at home on a Sunday", "before the guests arrive",
    "on a camping stove", "in a restaurant kitchen",
]

ROOMS = {
    "kitchen": [
        "a long wooden table", "copper pans on the wall",
        "an open fridge", "a sink full of dishes",
    ],
    "bedroom": [
        "an unmade bed", "a wardrobe with its doors open",
        "a lamp on the bedside table", "clothes on a chair",
    ],
    "living room": [
        "a grey sofa and a low table", "a fireplace and two armchairs",
        "a television on a cabinet", "a rug and a pile of cushions",
    ],
    "classroom": [
        "rows of empty desks", "a blackboard covered in sums",
        "a globe on the teacher's desk", "paintings pinned to the wall",
    ],
    "library": [
        "tall shelves of books", "reading lamps on long tables",
        "a spiral staircase", "a quiet study corner",
    ],
    "office": [
        "two desks and a printer", "a whiteboard and a plant",
        "a computer screen left on", "boxes of files on the floor",
    ],
    "bathroom": [
        "a white bathtub", "a mirror above the sink",
        "towels on a heated rail", "green tiles on every wall",
    ],
    "hotel lobby": [
        "a marble floor and a reception desk", "a chandelier and tall plants",
        "leather chairs near the entrance", "a brass luggage trolley",
    ],
    "museum hall": [
        "statues along both walls", "glass cases of old coins",
        "a high painted ceiling", "a dinosaur skeleton in the middle",
    ],
    "hospital ward": [
        "four beds behind curtains", "a nurses' station",
        "a window over the car park", "monitors beside each bed",
    ],
}
ROOM_ADJECTIVES = [
    "tidy", "cluttered", "dim", "sunlit", "cosy", "spacious", "empty",
    "old-fashioned",
]
NIGHT_LIGHTS = [
    "a single lamp", "the street lights outside",
    "moonlight through the window", "a torch beam", "light from the hallway",
]

LANDSCAPES = [
    "A mountain lake", "A sandy beach", "A narrow city street",
    "A pine forest", "A wheat field", "A desert road",
    "A harbour with fishing boats", "A snowy valley", "A village square",
    "A rocky coastline", "A park with tall trees", "A bend in a wide river",
]
WEATHER = [
    "under a clear blue sky", "in heavy rain", "at sunset",
    "on a foggy morning", "under dark storm clouds", "in bright midday sun",
    "at dusk", "seen from a hilltop", "on a windy autumn day",
    "after a light snowfall",
]
SCENE_DETAILS = [
    "a path winding into the distance", "a few scattered houses",
    "a line of hills on the horizon", "birds circling overhead",
    "long shadows across the ground", "a single tree in the foreground",
]

VEHICLES = [
    "A red bus", "A yellow taxi", "A delivery van", "A motorbike",
    "A fire engine", "A vintage car", "A tractor", "A police car",
    "A cement mixer", "A small hatchback",
]
VEHICLE_ACTIONS = [
    "waits at a traffic light", "is parked", "turns slowly",
    "speeds along", "is covered in mud", "stops suddenly",
    "reverses carefully",
]
VEHICLE_PLACES = [
    "on a wet road", "near a petrol station", "at a busy junction",
    "beside a brick wall", "on a country lane", "in a car park",
]
OBJECTS = [
    "A silver watch", "An open umbrella", "A set of keys", "A hammer",
    "A laptop", "An acoustic guitar", "A desk lamp", "An old camera",
    "A leather backpack", "A pair of scissors", "A red telephone",
    "A wooden chair",
]
OBJECT_PLACES = [
    "lies on a desk", "sits on a shelf", "leans against a wall",
    "rests on the floor", "sits on a workbench", "lies on a windowsill",
]
OBJECT_ENDINGS = [
    "", " next to a coffee cup", " covered in dust", " in a pool of light",
]


def _combine(parts, n, rng):
    """Draw ``n`` distinct combinations of ``parts``, spreading phrase use.

    All combinations are shuffled, then taken in order unless one of their
    phrases has already been used more than its share. The cap is the
    smallest one that still leaves ``n`` combinations.
    """
    combos = list(itertools.product(*[range(len(p)) for p in parts]))
    rng.shuffle(combos)
    for extra in range(1, 100):
        caps = [math.ceil(n / len(p)) + extra - 1 for p in parts]
        used = [np.zeros(len(p), dtype=int) for p in parts]
        chosen = []
        for combo in combos:
            if all(used[k][i] < caps[k] for k, i in enumerate(combo)):
                chosen.append(combo)
                for k, i in enumerate(combo):
                    used[k][i] += 1
            if len(chosen) == n:
                return [[p[i] for p, i in zip(parts, c)] for c in chosen]
    raise RuntimeError(f"Not enough combinations for {n} sentences.")


def _people(rng):
    frame_a = [
        f"{s} {a} {p}."
        for s, a, p in _combine(
            [PEOPLE_SUBJECTS, PEOPLE_ACTIONS, PEOPLE_PLACES], 65, rng
        )
    ]
    frame_b = [
        f"A close-up of {f}, {e}."
        for f, e in _combine([FACES, EXPRESSIONS], 35, rng)
    ]
    return frame_a + frame_b


def _bodies(rng):
    frame_a = [
        f"{s} {a} {p}."
        for s, a, p in _combine(
            [BODY_SUBJECTS, BODY_ACTIONS, BODY_PLACES], 70, rng
        )
    ]
    frame_b = [
        f"{b} {e}."
        for b, e in _combine([BODY_PARTS, BODY_PART_ENDINGS], 30, rng)
    ]
    return frame_a + frame_b


def _animals(rng):
    frame_a = [
        f"{s} {a} {p}."
        for s, a, p in _combine(
            [ANIMALS, ANIMAL_ACTIONS, ANIMAL_PLACES], 70, rng
        )
    ]
    frame_b = [
        f"{s} {e}."
        for s, e in _combine([SMALL_ANIMALS, SMALL_ANIMAL_ENDINGS], 30, rng)
    ]
    return frame_a + frame_b


def _food(rng):
    frame_a = [
        f"{f} {v} {s}."
        for f, v, s in _combine([FOODS, FOOD_VERBS, FOOD_SURFACES], 65, rng)
    ]
    frame_b = [
        f"{c} {p}."
        for c, p in _combine([COOKING, COOKING_PLACES], 35, rng)
    ]
    return frame_a + frame_b


def _indoor(rng):
    pairs = [(room, f) for room, feats in ROOMS.items() for f in feats]
    frame_a = []
    for adjective, (room, feature) in _combine(
        [ROOM_ADJECTIVES, pairs], 75, rng
    ):
        article = "An" if adjective[0] in "aeiou" else "A"
        frame_a.append(f"{article} {adjective} {room} with {feature}.")
    frame_b = [
        f"An empty {room} at night, lit only by {light}."
        for room, light in _combine([list(ROOMS), NIGHT_LIGHTS], 25, rng)
    ]
    return frame_a + frame_b


def _outdoor(rng):
    frame_a = [
        f"{s} {w}."
        for s, w in _combine([LANDSCAPES, WEATHER], 70, rng)
    ]
    frame_b = [
        f"{s} {w}, with {d}."
        for s, w, d in _combine([LANDSCAPES, WEATHER, SCENE_DETAILS], 30, rng)
    ]
    return frame_a + frame_b


def _objects(rng):
    frame_a = [
        f"{v} {a} {p}."
        for v, a, p in _combine(
            [VEHICLES, VEHICLE_ACTIONS, VEHICLE_PLACES], 50, rng
        )
    ]
    frame_b = [
        f"{o} {p}{e}."
        for o, p, e in _combine(
            [OBJECTS, OBJECT_PLACES, OBJECT_ENDINGS], 50, rng
        )
    ]
    return frame_a + frame_b


CATEGORIES = {
    "people": _people,
    "bodies": _bodies,
    "animals": _animals,
    "food": _food,
    "indoor": _indoor,
    "outdoor": _outdoor,
    "objects": _objects,
}


def build_table(seed=SEED):
    """Return the sentence table: ``stimulus_id``, ``category``, ``text``."""
    rng = np.random.default_rng(seed)
    rows = []
    for category, make in CATEGORIES.items():
        sentences = make(rng)
        if len(sentences) != PER_CATEGORY or len(set(sentences)) != len(
            sentences
        ):
            raise RuntimeError(f"Category {category} has duplicates.")
        for number, text in enumerate(sentences, start=1):
            rows.append((f"{category}-{number:03d}", category, text))
    return pd.DataFrame(rows, columns=["stimulus_id", "category", "text"])


if __name__ == "__main__":
    out = Path(__file__).with_name("sentences.tsv")
    table = build_table()
    table.to_csv(out, sep="\t", index=False)
    print(f"Wrote {len(table)} sentences to {out}")
