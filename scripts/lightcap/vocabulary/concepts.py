"""The curated everyday concept table: words people say about photographs.

Reads nothing; this module is data. Each line of a section is

    concept = lemma[#sense] [lemma[#sense] ...]

or a bare `concept`, short for `concept = concept`. The right-hand side names
the WordNet noun synsets the concept stands for: `lemma#n` is sense n of the
lemma in index.noun order; a lemma without `#n` takes its first sense whose
lexicographer file suits the section (SECTION_LEXFILES), so 'mouse' in the
animals is the rodent and in the objects the computer mouse. Multi-word lemmas
use underscores, as WordNet does. In the plants section a bare lemma takes
every sense it has there, since 'banana' names the plant and the fruit eaten. Colours, materials and actions are not
concepts here: the table names things one can point at.
"""

from __future__ import annotations

from .wordnet import (NOUN_ANIMAL, NOUN_ARTIFACT, NOUN_FOOD, NOUN_LOCATION, NOUN_OBJECT, NOUN_PERSON, NOUN_PLANT,
                      NOUN_TOPS)

# The lexicographer files (kinds of sense) a bare lemma's sense may come from; the top
# words of each kind (person, animal, plant, food) are in NOUN_TOPS.
SECTION_LEXFILES: dict[str, frozenset[int]] = {
    "people": frozenset({NOUN_TOPS, NOUN_PERSON}),
    "animals": frozenset({NOUN_TOPS, NOUN_ANIMAL}),
    "plants": frozenset({NOUN_TOPS, NOUN_PLANT, NOUN_FOOD}),  # fruit is both
    "food": frozenset({NOUN_TOPS, NOUN_FOOD}),
    "vehicles": frozenset({NOUN_TOPS, NOUN_ARTIFACT}),
    "buildings": frozenset({NOUN_TOPS, NOUN_ARTIFACT}),
    "places": frozenset({NOUN_TOPS, NOUN_OBJECT, NOUN_LOCATION, NOUN_ARTIFACT}),  # artifacts such as roads
    "household": frozenset({NOUN_TOPS, NOUN_ARTIFACT}),
    "clothing": frozenset({NOUN_TOPS, NOUN_ARTIFACT}),
    "music": frozenset({NOUN_TOPS, NOUN_ARTIFACT}),
    "sport": frozenset({NOUN_TOPS, NOUN_ARTIFACT}),
    "tools": frozenset({NOUN_TOPS, NOUN_ARTIFACT}),
}

# Sections where a bare lemma stands for all its senses in the section's files.
ALL_SENSES: frozenset[str] = frozenset({"plants"})

SECTIONS: dict[str, str] = {
    "people": """
person
man
woman
child
boy
girl
baby
player = player ballplayer
soldier
diver
bride
groom
police officer = policeman
""",
    "animals": """
animal
bird
fish
insect = insect bug#1
dog
puppy
cat
kitten
horse
pony = pony#5
donkey
cow = cattle cow
bull
sheep
goat
pig
bear
elephant
giraffe
zebra
lion
tiger
leopard
cheetah
jaguar
wolf
fox
deer
rabbit
mouse
rat
hamster
squirrel
hedgehog = hedgehog#2
raccoon
otter
monkey
ape
gorilla
chimpanzee
panda = giant_panda lesser_panda
koala
kangaroo
camel
bison
buffalo = water_buffalo
hippopotamus
rhinoceros
bat
whale
dolphin = dolphin#2
seal
sea lion
shark
ray = ray#7
eel
goldfish
turtle
tortoise
snake
lizard
crocodile
alligator
frog
salamander
butterfly
moth
bee
ant
beetle
ladybug
fly
dragonfly
grasshopper
spider
scorpion
snail
worm
crab
lobster
shrimp
jellyfish = jellyfish#2
starfish
coral
duck
goose
swan
chicken
rooster = cock#4
hen
turkey
owl
eagle
hawk
parrot
penguin
flamingo
crane = crane#5
ostrich
peacock = peacock#2
pigeon
""",
    "plants": """
plant = plant#2
flower
tree
grass = grass#1
mushroom = mushroom fungus
fruit = edible_fruit
vegetable
apple
orange
lemon
banana
strawberry
pineapple
pear
fig
pomegranate
corn = corn#1 corn#2 corn#3 ear#5
acorn
nut = nut#1
seed = seed#1 seed#2
berry
cabbage
broccoli
cauliflower
cucumber
pepper = sweet_pepper bell_pepper
squash
zucchini
pumpkin
artichoke
daisy
rose
sunflower
""",
    "food": """
food
drink = beverage
coffee
tea
wine
beer
cocktail
milk
juice
bread
cake = cake#3
pizza
burger = hamburger
sandwich
hot dog = hotdog#2
ice cream
chocolate = chocolate#2 chocolate#1
soup
pasta
salad
meat
egg
cheese
dessert
""",
    "vehicles": """
vehicle
car
truck
bus
van = van#5 van#4 minivan
taxi
ambulance
fire engine
police car = police_cruiser
limousine
jeep
race car = racer#2
tractor
bulldozer
forklift
train = train railcar
locomotive
tram = streetcar
motorcycle = motorcycle minibike
scooter = motor_scooter
bicycle
tricycle
unicycle
wagon
cart
carriage = carriage#2
trailer
tank = tank#1
boat
ship
sailboat = sailboat sailing_vessel
canoe
yacht
submarine
airplane = airplane warplane
helicopter
airship
balloon
rocket = rocket#1 rocket#2
spacecraft
parachute
sled
snowmobile
wheel
""",
    "buildings": """
building
house
home = dwelling
church
temple = temple#1
mosque
castle = castle#2
palace = palace#1 palace#4
tower
skyscraper
barn
greenhouse
shop = shop mercantile_establishment
restaurant
library = library#5 library#1
school
prison
stadium
theater
bridge
dam
fountain
monument = memorial
statue
arch
fence
wall
gate
door
window
stairs = stairway
railing = railing bannister
patio
stage = stage#3
altar = altar#1 altar#2
factory
roof
tent
lighthouse = beacon#3
pier
dock = dock#5 dock#4
""",
    "places": """
beach
sea
lake
river
waterfall
mountain
volcano = volcano#2 volcano#1
hill
valley
cliff
cave
island
coast = seashore shore#1
geyser
field
forest
desert
rock
sand = sand#1
snow = snow#1 snow#2
sky
road
street
park
garden
city
farm
reef
""",
    "household": """
container
cup
mug
glass = glass#2
bottle
bowl = bowl#1 bowl#3
plate = plate#4
pot = pot#1 pot#4
pan
jar
vase
basket
bag
box
bucket
barrel = barrel#2
can
teapot
kettle
spoon
knife
furniture
chair
table = table#2 table#3
bed = bed baby_bed
sofa
desk
shelf
bookcase
cabinet
lamp = lamp#1 lamp#2
clock
television = television#3 television#2
computer
laptop
keyboard
mouse = mouse#4
phone = telephone
camera
book
magazine = magazine#1 magazine#2 comic_book#1
umbrella
mirror
pillow
blanket = blanket quilt
towel
toilet = toilet#2
bathtub
sink
appliance = appliance#2 appliance#1
refrigerator
washing machine = washer#3
vacuum cleaner = vacuum#4
coffee maker
oven
stove = stove#1 stove#2
microwave
toaster
fan
candle
lock
key
toy
doll
teddy bear
puzzle
coin = coin#1
money = money#1
envelope
letter = letter#1
sign = sign street_sign#1
traffic light = traffic_light#1
mailbox
bench
flag
screen = screen#1 screen#3 monitor#4
printer
radio = radio#2 radio#3
speaker = loudspeaker
microphone
headphones = earphone
binoculars
telescope
microscope
syringe
lighter
pen
paper = paper#1
bandage
broom
curtain
rug = rug mat#1
tray
dish = dish#1
jug = jug pitcher#2
bin
stick = stick#1
pole = pole#1
utensil = kitchen_utensil
maze = maze#1
eraser
package = package#2
dresser = chest_of_drawers
cosmetics = toiletry makeup#1
bubble = bubble#1
piggy bank
balloon = balloon#2
""",
    "clothing": """
clothing
fabric
shirt
t-shirt = jersey#3
dress
hat
cap
helmet = helmet#1 helmet#2
shoe
boot
sandal
sock
coat
jacket
sweater
jeans = jean#1
skirt
tie = necktie
scarf
glove = glove#2
glasses = spectacles
sunglasses = sunglasses dark_glasses
mask = mask#1 mask#4
backpack
wallet
necklace
jewelry
watch
uniform
swimsuit
""",
    "music": """
musical instrument
guitar
piano
violin
cello
drum
flute
trumpet
trombone
horn = french_horn
saxophone
clarinet
oboe
bassoon
harp
accordion
banjo
organ = organ#5 organ#3
harmonica
gong
xylophone = marimba
""",
    "sport": """
ball
soccer ball
football
basketball
baseball
tennis ball
golf ball
volleyball
racket
ski
skateboard
surfboard
dumbbell
""",
    "tools": """
tool
hammer = hammer#2
saw
screwdriver
shovel
axe
wrench
scissors
drill
rope
chain
nail
ladder
weapon
armor = armor#1
shield
gun
sword
bow = bow#4
machine
crane = crane#4
device = device electronic_equipment
equipment
paddle = paddle#4 oar
""",
}
