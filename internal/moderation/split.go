package moderation

import (
	"strings"
	"unicode/utf8"
)

// maxFragment is the longest piece, in letters, that joinsFragments takes for a fragment of a
// word. Longer pieces are too often whole words ("be heading", "top less").
const maxFragment = 3

// joinsFragments reports whether a and b, separated only by space, are the two halves of one
// word split to slip past the filter ("nu de", "p orn") rather than two words that happen to
// spell a term together ("go red", "rap ed", "sun dew"). It is only asked when together they
// spell a term. Without a dictionary it cannot know every word, so it takes the halves for
// fragments only when both are short and neither is a common word: a short word beside
// anything is everyday text, while two short pieces that are not words seldom stand side by
// side in an innocent prompt. A lone letter is a fragment unless it is "a" or "i".
func joinsFragments(a, b token) bool {
	return isFragment(a.text) && isFragment(b.text)
}

// isFragment reports whether text may be a piece of a split word.
func isFragment(text string) bool {
	return utf8.RuneCountInString(text) <= maxFragment && !commonWords[text]
}

// commonWords are short English words and abbreviations common in prompts. A piece that is one
// of them is never taken for a fragment, so "go red" is not "gored" and "cs am" not "csam".
// Words of other languages are not listed: their short function words ("de", "des") are the
// likeliest second half of a split English term ("nu de").
var commonWords = wordSet(`
	a i am an as at be by do go he if in is it me my no of oh ok on or ox so to up us we
	ace act add ado aft age ago aid aim air ale all and ant any ape apt arc are ark arm art ash
	ask ate awe axe bad bag ban bar bat bay bed bee beg bet bib bid big bin bit boa bog boo bow
	box boy bra bud bug bun bus but buy bye cab can cap car cat cob cod cog cow cry cub cue cup
	cut dad dam day den dew did die dig dim din dip doe dog don dot dry dub due dug dye ear eat
	ebb egg ego elf elk elm emu end era eve ewe eye fad fan far fat fax fed fee few fig fin fir
	fit fix flu fly foe fog for fox fry fun fur gag gap gas gel gem get gig gin gnu god got gum
	gun gut guy gym had ham has hat hay hen her hey hid him hip his hit hog hop hot how hub hue
	hug hum hut ice icy ill imp ink inn ion its ivy jab jam jar jaw jay jet jig job jog joy jug
	keg key kid kin kit lab lad lag lap law lay led leg let lid lie lip lit log lot low mad man
	map mat may men met mix mob mom mop mud mug mum nap net new nil nip nod nor not now nut oak
	oar oat odd ode off oil old one opt orb ore our out owe owl own pad pal pan par pat paw pay
	pea peg pen pep per pet pew pie pig pin pit ply pod pop pot pro pry pub pug pun pup put rag
	ram ran rap rat raw ray red rib rid rig rim rip rob rod roe rot row rub rug rum run rut rye
	sad sag sap sat saw say sea see set sew she shy sin sip sir sit six ski sky sly sob son sow
	soy spa spy sub sum sun tab tag tan tap tar tax tea tee ten the tie tin tip toe ton too top
	tow toy try tub tug two urn use van vat vet via vie vow wag war was wax way web wed wee wet
	who why wig win wit woe won wow yak yam yes yet yew you zap zen zip zoo
	ad ai cgi co cm dr eu ft hd inc jr kg km lb ltd mm mr mrs ms oz pc re sr st tv ufo uk un
	usa vs
`)

// wordSet returns the words of list, separated by white space, as a set.
func wordSet(list string) map[string]bool {
	set := make(map[string]bool)
	for _, w := range strings.Fields(list) {
		set[w] = true
	}
	return set
}
