"""Word lists the offline generators sample from (kept in the package: no data files needed)."""

# Common US first names, in the spirit of the name lists behind Kojima et al.'s last-letter and
# coin-flip sets and SymbolicReasoningBenchLLM's first-letter set.
FIRST_NAMES = """
James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph Jessica
Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony Sandra Mark Margaret Donald Ashley
Steven Kimberly Paul Emily Andrew Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah
Timothy Stephanie Ronald Rebecca Jason Laura Edward Sharon Jeffrey Cynthia Ryan Kathleen Jacob Helen Gary Amy
Nicholas Shirley Eric Angela Jonathan Anna Stephen Brenda Larry Pamela Justin Nicole Scott Ruth Brandon Katherine
Benjamin Samantha Samuel Christine Gregory Emma Frank Catherine Alexander Debra Raymond Virginia Patrick Rachel
Jack Carolyn Dennis Janet Jerry Maria Tyler Heather Aaron Diane Jose Julie Adam Joyce Henry Victoria Nathan Kelly
Douglas Christina Zachary Lauren Peter Joan Kyle Evelyn Walter Olivia Ethan Judith Jeremy Megan Harold Cheryl Keith
Andrea Christian Hannah Roger Martha Noah Jacqueline Gerald Frances Carl Gloria Terry Ann Sean Teresa Austin Kathryn
Arthur Sara Lawrence Janice Jesse Jean Dylan Alice Bryan Madison Joe Doris Jordan Abigail Billy Julia Bruce Judy
Albert Grace Willie Denise Gabriel Amber Logan Marilyn Alan Beverly Juan Danielle Wayne Theresa Roy Sophia Ralph
Marie Randy Diana Eugene Brittany Vincent Natalie Russell Isabella Elijah Charlotte Louis Rose Bobby Alexis Philip
Kayla Johnny Carlos Ana Jorge Luis Miguel Rosa Elena Whitney Erika Benito Mireya Caleb Chase Eleazar Chanel
""".split()

# The 55 everyday objects of SymbolicReasoningBenchLLM's reverse-list generator (objects.json, MIT).
OBJECTS = [
    "diary", "bottle", "water", "packet", "chewing gum", "tissue", "glasses", "watch", "sweet", "photo", "camera",
    "stamp", "postcard", "dictionary", "coin", "brush", "credit card", "identity card", "key", "mobile phone",
    "phone card", "wallet", "button", "umbrella", "pen", "pencil", "lighter", "cigarette", "match", "lipstick",
    "purse", "case", "clip", "scissors", "rubber", "file", "banknote", "passport", "driving licence", "comb",
    "notebook", "laptop", "rubbish", "mirror", "painkiller", "sunscreen", "toothbrush", "headphone", "player",
    "battery", "light bulb", "bin", "newspaper", "magazine", "alarm clock",
]

MALE_NAMES = """James Robert John Michael David William Richard Joseph Thomas Charles Daniel Matthew Anthony Mark Donald
Steven Paul Andrew Joshua Kenneth Kevin Brian George Timothy Ronald Jason Edward Jeffrey Ryan Jacob Gary Nicholas
Eric Jonathan Stephen Larry Justin Scott Brandon Benjamin Samuel Gregory Frank Raymond Patrick Jack Dennis Jerry
Tyler Aaron Henry Nathan Douglas Peter Kyle Walter Ethan Harold Keith Roger Noah Gerald Carl Dan Lewis""".split()

FEMALE_NAMES = """Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy Betty Sandra
Margaret Ashley Kimberly Emily Donna Michelle Carol Amanda Melissa Deborah Stephanie Rebecca Laura Sharon Cynthia
Kathleen Helen Amy Shirley Angela Anna Brenda Pamela Nicole Ruth Katherine Samantha Christine Emma Catherine Debra
Rachel Janet Maria Heather Diane Julie Joyce Victoria Kelly Theresa Dorothy Myrna Lucille Gabrielle Constance""".split()
