// Package federate owns the search path: the query language and its AST, the
// shared record model that every connector produces, the Connector interface,
// and the Engine that fans a query out to the members of a consortium, merges
// their answers into works and ranks them.
//
// federate knows nothing of HTTP or of any one protocol.
package federate

// Record is one member's catalogue record for one item, in the shared model
// every connector produces. Identifiers are kept as the member sent them;
// Normalize turns them into the canonical forms that merging relies on.
type Record struct {
	// Member is the id of the member that holds the record (set by the Engine
	// if the connector leaves it empty).
	Member string `json:"member"`
	// RecordID is the member's own id for the record (001 for MARC).
	RecordID string `json:"record_id"`
	// Title is the title proper, including a subtitle after " : " if the
	// member catalogues one.
	Title string `json:"title"`
	// Authors lists personal or corporate names in catalogue order, as the
	// member wrote them ("Collins, Suzanne").
	Authors []string `json:"authors,omitempty"`
	// Year is the year of publication; 0 means unknown.
	Year int `json:"year,omitempty"`
	// Publisher, Edition: free text; empty means not recorded.
	Publisher string `json:"publisher,omitempty"`
	Edition   string `json:"edition,omitempty"`
	// Format is one of the Format* constants; empty means unknown.
	Format string `json:"format,omitempty"`
	// Language is an ISO 639-2/B code ("eng"); empty means unknown.
	Language string `json:"language,omitempty"`
	// Subjects are subject headings as the member wrote them.
	Subjects []string `json:"subjects,omitempty"`
	// Series is the series statement, if any ("The Hunger Games ; 1").
	Series string `json:"series,omitempty"`
	// Identifiers holds ISBN, ISSN, OCLC, LCCN and DOI values.
	Identifiers Identifiers `json:"identifiers"`
	// Links are URLs for the record at the member (catalogue page, full text).
	Links []Link `json:"links,omitempty"`
	// Rank is the 1-based position of the record in the member's own answer
	// (set by the Engine from the page order if the connector leaves it 0).
	Rank int `json:"rank"`
}

// Identifiers are the standard numbers of a record. After Normalize, ISBNs
// are ISBN-13 without hyphens, ISSNs are "NNNN-NNNC", OCLC numbers are bare
// digits without leading zeros, LCCNs are normalised per the LC rules and DOIs
// are lower-case without a resolver prefix. Invalid values are dropped by
// Normalize.
type Identifiers struct {
	ISBN []string `json:"isbn,omitempty"`
	ISSN []string `json:"issn,omitempty"`
	OCLC []string `json:"oclc,omitempty"`
	LCCN []string `json:"lccn,omitempty"`
	DOI  []string `json:"doi,omitempty"`
}

// Empty reports whether no identifier of any kind is present.
func (ids Identifiers) Empty() bool {
	return len(ids.ISBN)+len(ids.ISSN)+len(ids.OCLC)+len(ids.LCCN)+len(ids.DOI) == 0
}

// Link is a URL with a short human label ("Catalogue record", "Full text").
type Link struct {
	URL   string `json:"url"`
	Label string `json:"label,omitempty"`
}

// Formats a Record may carry. They are deliberately coarse: members catalogue
// formats in incompatible detail, and merging only needs to tell a book from a
// journal from a recording.
const (
	FormatBook    = "book"
	FormatEbook   = "ebook"
	FormatJournal = "journal"
	FormatArticle = "article"
	FormatVideo   = "video"
	FormatAudio   = "audio"
	FormatMusic   = "music-score"
	FormatMap     = "map"
	FormatThesis  = "thesis"
	FormatArchive = "archival-material"
	FormatOther   = "other"
)
