package demo

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/commonshelf/commonshelf/index"
)

// department is a subject area whose courses cite the works of the
// authors it names (matched on the first author's surname) or whose title
// holds one of its words.
type department struct {
	code, name string
	surnames   []string
	titleWords []string
	courses    []string // course names
	// outside readings: articles, chapters and web pages not in any
	// member's catalogue.
	outside []index.Citation
}

var departments = []department{
	{code: "ENGL", name: "English Literature",
		surnames: []string{"Austen", "Dickens", "Brontë", "Bronte", "Shakespeare", "Hardy", "Woolf", "Joyce", "Wilde", "Shelley", "Steinbeck", "Fitzgerald", "Hemingway", "Twain", "Melville", "Hawthorne", "Faulkner", "Morrison", "Salinger", "Lee", "Golding", "Conrad", "Forster", "Stoker", "Swift", "Tolstoy", "Dostoyevsky", "Eliot", "Ishiguro", "McEwan", "Achebe"},
		courses:  []string{"The Novel from Austen to Woolf", "American Fiction", "Modern British Fiction", "Reading the Classics"},
		outside: []index.Citation{
			{Type: index.TypeArticle, Title: "Free Indirect Discourse and the Victorian Novel", ContainerTitle: "Journal of Narrative Studies", Authors: []string{"Hale, Miriam"}, Year: 2019, DOI: "10.5555/demo.engl.001"},
			{Type: index.TypeChapter, Title: "Reading Closely", ContainerTitle: "A Handbook of Literary Method", Authors: []string{"Osei, Kwame"}, Year: 2016, Publisher: "Demo Academic Press"},
		}},
	{code: "CLAS", name: "Classics",
		surnames: []string{"Homer", "Virgil", "Sophocles", "Aeschylus", "Euripides", "Ovid", "Aurelius", "Seneca", "Plato", "Aristotle", "Herodotus", "Thucydides"},
		courses:  []string{"Greek Epic and Tragedy", "Roman Literature in Translation", "Ancient Philosophy"},
		outside: []index.Citation{
			{Type: index.TypeArticle, Title: "Oral Composition in the Homeric Poems", ContainerTitle: "Classical Quarterly Review", Authors: []string{"Varga, Eszter"}, Year: 2014, DOI: "10.5555/demo.clas.001"},
		}},
	{code: "PHIL", name: "Philosophy",
		surnames: []string{"Nietzsche", "Kant", "Camus", "Sartre", "Descartes", "Rousseau", "Hume", "Machiavelli", "Kierkegaard", "Russell", "Rand", "Beauvoir", "Locke", "Hobbes", "Mill", "Spinoza"},
		courses:  []string{"Introduction to Philosophy", "Existentialism", "Political Philosophy"},
		outside: []index.Citation{
			{Type: index.TypeWeb, Title: "Existentialism", ContainerTitle: "Open Encyclopedia of Philosophy", URL: "https://philosophy.example.org/entries/existentialism", Year: 2021},
		}},
	{code: "CHLT", name: "Children's and Young Adult Literature",
		surnames: []string{"Rowling", "Dahl", "Seuss", "Collins", "Riordan", "Lewis", "Sendak", "Silverstein", "Carle", "Blume", "L'Engle", "Lowry", "Pullman", "Meyer", "Green", "Roth", "Paolini", "Funke", "Snicket"},
		courses:  []string{"Children's Literature", "Young Adult Fiction and Dystopia", "Fantasy for Young Readers"},
		outside: []index.Citation{
			{Type: index.TypeArticle, Title: "Dystopia and the Adolescent Reader", ContainerTitle: "Children's Literature Quarterly", Authors: []string{"Nakamura, Aiko"}, Year: 2018, DOI: "10.5555/demo.chlt.001"},
		}},
	{code: "SCI", name: "Science and Society",
		surnames: []string{"Hawking", "Sagan", "Dawkins", "Harari", "Bryson", "Diamond", "Mukherjee", "Pollan", "Skloot", "Greene", "Tyson", "Feynman", "Darwin", "Carson", "Roach", "Kolbert", "Sacks"},
		courses:  []string{"Science Writing for the Public", "Evolution and Society", "The Environment in Crisis"},
		outside: []index.Citation{
			{Type: index.TypeArticle, Title: "Public Understanding of Science Revisited", ContainerTitle: "Science Communication Review", Authors: []string{"Lindqvist, Maja", "Adeyemi, Tunde"}, Year: 2020, DOI: "10.5555/demo.sci.001"},
			{Type: index.TypeVideo, Title: "How Science Gets Done (lecture recording)", URL: "https://video.example.org/lectures/how-science-gets-done", Year: 2022},
		}},
	{code: "HIST", name: "History",
		surnames:   []string{"Ambrose", "McCullough", "Hillenbrand", "Larson", "Tuchman", "Frank", "Wiesel", "Shirer", "Chernow", "Isaacson", "Goodwin", "Zinn", "Beard", "Frankopan"},
		titleWords: []string{"history", "war", "empire", "revolution"},
		courses:    []string{"Modern World History", "War and Memory", "Biography as History"},
		outside: []index.Citation{
			{Type: index.TypeArticle, Title: "Memory, Testimony and the Historian", ContainerTitle: "Historical Methods Journal", Authors: []string{"Brennan, Siobhan"}, Year: 2017, DOI: "10.5555/demo.hist.001"},
		}},
	{code: "SPEC", name: "Speculative Fiction",
		surnames: []string{"Tolkien", "Martin", "Asimov", "Herbert", "Le Guin", "Bradbury", "Gibson", "Dick", "Heinlein", "Clarke", "Adams", "Gaiman", "Pratchett", "Sanderson", "Rothfuss", "King", "Atwood", "Orwell", "Huxley", "Vonnegut", "Butler", "Jemisin"},
		courses:  []string{"Science Fiction and Utopia", "Epic Fantasy", "Dystopian Fiction"},
		outside: []index.Citation{
			{Type: index.TypeChapter, Title: "Cognitive Estrangement Reconsidered", ContainerTitle: "Companion to Speculative Fiction", Authors: []string{"Ferreira, Lucas"}, Year: 2015, Publisher: "Demo Academic Press"},
		}},
	{code: "PSYC", name: "Psychology",
		surnames: []string{"Kahneman", "Covey", "Carnegie", "Cain", "Duhigg", "Gladwell", "Brown", "Dweck", "Sinek", "Ariely", "Pink", "Frankl", "Peterson", "Goleman", "Seligman"},
		courses:  []string{"Introduction to Psychology", "Judgement and Decision Making", "Psychology of Habits"},
		outside: []index.Citation{
			{Type: index.TypeArticle, Title: "Replication and the Psychology Curriculum", ContainerTitle: "Teaching of Psychology Review", Authors: []string{"Okafor, Amara"}, Year: 2021, DOI: "10.5555/demo.psyc.001"},
		}},
	{code: "CRIM", name: "Crime Fiction",
		surnames: []string{"Christie", "Doyle", "Chandler", "Hammett", "Flynn", "Larsson", "Harris", "Patterson", "Rankin", "Child", "Connelly", "Grisham", "Highsmith", "Tana", "French", "Nesbø"},
		courses:  []string{"The Detective Story", "Crime Fiction and the City"},
		outside: []index.Citation{
			{Type: index.TypeWeb, Title: "A Short History of the Detective Novel", URL: "https://literature.example.org/guides/detective-novel", Year: 2019},
		}},
	{code: "POET", name: "Poetry",
		surnames:   []string{"Dickinson", "Frost", "Whitman", "Plath", "Angelou", "Neruda", "Rumi", "Hughes", "Cummings", "Yeats", "Keats", "Byron", "Kaur", "Gibran", "Poe", "Oliver", "Eliot"},
		titleWords: []string{"poems", "poetry", "verse"},
		courses:    []string{"Reading Poetry", "Modern Poetry", "Poetry Workshop"},
		outside: []index.Citation{
			{Type: index.TypeArticle, Title: "Line, Breath and Meaning", ContainerTitle: "Poetics Today Review", Authors: []string{"Moreau, Claire"}, Year: 2016, DOI: "10.5555/demo.poet.001"},
		}},
}

var (
	forenames = []string{"Amara", "Ben", "Chiara", "Daniel", "Elif", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kavya", "Liam", "Maya", "Noah", "Olga", "Pedro", "Qing", "Rosa", "Samir", "Tess"}
	surnames  = []string{"Okafor", "Lindqvist", "Moreau", "Nakamura", "Brennan", "Ferreira", "Varga", "Osei", "Hale", "Adeyemi", "Müller", "García", "Kowalski", "Dubois", "Rossi", "Haddad", "Singh", "Novak", "O'Brien", "Zhang"}
	terms     = []string{"Autumn", "Spring"}
)

// ListsVersion changes whenever Lists would produce different lists.
const ListsVersion = "demo-lists-1"

// Lists returns the demo consortium's course resource lists:
// deterministic, several per department for every member, citing works from
// the members' catalogues (with a link to the citing institution's own
// record where it holds the work) and readings from outside them. Most are
// published and public; some are drafts or visible to their institution
// only, as real lists are.
func Lists() ([]*index.List, error) {
	p, err := getPlan()
	if err != nil {
		return nil, err
	}
	pools := make([][]*work, len(departments))
	for i := range p.works {
		w := &p.works[i]
		if d := departmentOf(w); d >= 0 {
			pools[d] = append(pools[d], w)
		}
	}
	var out []*index.List
	for mi, m := range Members {
		rng := rand.New(rand.NewPCG(uint64(mi+1), 0x11575))
		for di, d := range departments {
			pool := pools[di]
			if len(pool) == 0 {
				continue
			}
			for ci, cname := range d.courses {
				code := fmt.Sprintf("%s %d%02d", d.code, 1+ci, 1+rng.IntN(40))
				instr := []string{name(rng)}
				if rng.IntN(4) == 0 {
					instr = append(instr, name(rng))
				}
				for ti, term := range terms {
					if ti == 1 && rng.IntN(3) == 0 {
						continue // not every course runs twice a year
					}
					l := &index.List{
						Institution: m.ID,
						ID:          fmt.Sprintf("%s-%s-%d%s", strings.ToLower(d.code), strings.ToLower(strings.ReplaceAll(code, " ", "")), 2026-ti, strings.ToLower(term[:2])),
						Name:        fmt.Sprintf("%s: %s reading list", cname, term),
						Description: fmt.Sprintf("Readings for %s (%s), %s term.", cname, code, term),
						Status:      index.StatusPublished,
						Visibility:  index.VisibilityPublic,
						Updated:     fmt.Sprintf("2026-%02d-%02dT09:00:00Z", 1+ti*6+rng.IntN(3), 1+rng.IntN(27)),
						Course: index.Course{Code: code, Name: cname, Department: d.name, Term: term, Year: 2026,
							Instructors: instr, Campus: m.Name, Status: index.CourseActive},
					}
					switch rng.IntN(12) {
					case 0:
						l.Status = index.StatusDraft
					case 1:
						l.Visibility = index.VisibilityInstitution
					}
					l.Sections = sections(rng, m.ID, p, pool, d)
					out = append(out, l)
				}
			}
		}
	}
	return out, nil
}

func name(rng *rand.Rand) string {
	return "Dr " + forenames[rng.IntN(len(forenames))] + " " + surnames[rng.IntN(len(surnames))]
}

// departmentOf picks the department whose authors or title words match a
// work, or -1.
func departmentOf(w *work) int {
	if len(w.Authors) > 0 {
		first := w.Authors[0]
		for i, d := range departments {
			for _, s := range d.surnames {
				if strings.HasSuffix(first, " "+s) || first == s {
					return i
				}
			}
		}
	}
	title := strings.ToLower(displayTitle(w))
	for i, d := range departments {
		for _, tw := range d.titleWords {
			for _, f := range strings.Fields(title) {
				if strings.Trim(f, ",.:;") == tw {
					return i
				}
			}
		}
	}
	return -1
}

// displayTitle is the title a citation gives a goodbooks work.
func displayTitle(w *work) string {
	if w.OrigTitle != "" {
		return w.OrigTitle
	}
	return stripSeries(w.Title).base
}

func sections(rng *rand.Rand, member string, p *plan, pool []*work, d department) []index.Section {
	n := 6 + rng.IntN(10)
	picked := map[int]bool{}
	var books []index.Citation
	// Popular works first: the pool is in popularity order, and courses set
	// well-known texts.
	for tries := 0; len(books) < n && tries < 4*n; tries++ {
		i := int(float64(len(pool)) * rng.Float64() * rng.Float64())
		w := pool[i]
		if picked[w.ID] {
			continue
		}
		picked[w.ID] = true
		books = append(books, bookCitation(member, p, w, len(books)+1))
	}
	core := index.Section{ID: "core", Title: "Core reading"}
	further := index.Section{ID: "further", Title: "Further reading"}
	for i, c := range books {
		if i < max(2, len(books)/3) {
			c.Importance = index.ImportanceRequired
			core.Citations = append(core.Citations, c)
		} else {
			c.Importance = []string{index.ImportanceRecommended, index.ImportanceOptional}[rng.IntN(2)]
			further.Citations = append(further.Citations, c)
		}
	}
	for i, o := range d.outside {
		if rng.IntN(3) == 0 {
			continue
		}
		o.ID = fmt.Sprintf("x%d", i+1)
		o.Importance = index.ImportanceRecommended
		o.Authors = append([]string(nil), o.Authors...)
		further.Citations = append(further.Citations, o)
	}
	secs := []index.Section{core}
	if len(further.Citations) > 0 {
		secs = append(secs, further)
	}
	return secs
}

func bookCitation(member string, p *plan, w *work, n int) index.Citation {
	c := index.Citation{ID: fmt.Sprintf("c%d", n), Type: index.TypeBook, Title: displayTitle(w)}
	for _, a := range w.Authors {
		if inv, ok := invertName(a); ok {
			a = inv
		}
		c.Authors = append(c.Authors, a)
	}
	if w.HasYear && w.Year > 0 { // B.C. works are cited without a year
		c.Year = w.Year
	}
	if w.ISBN10 != "" {
		c.ISBN = []string{w.ISBN10}
	}
	for _, h := range p.stats.HoldersOf(w.ID) {
		if h == member {
			for _, m := range Members {
				if m.ID == member {
					c.Record = &index.RecordLink{Member: member, RecordID: fmt.Sprintf("%s%07d", m.Prefix, w.ID)}
				}
			}
		}
	}
	return c
}
