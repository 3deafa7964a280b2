package federate

import "testing"

func TestYearOfReadsEveryMembersDatesAlike(t *testing.T) {
	for _, tt := range []struct {
		date string
		want int
	}{
		{"2008", 2008},
		{"c2008.", 2008},
		{"[2016?]", 2016},
		{"2008-2010", 2008},
		{"2021-04-01", 2021},
		{"2021-04-01T00:00:00Z", 2021},
		{"20210401", 2021}, // a compact date: as a year by every connector
		{"Sun, 14 Sep 2008 00:00:00 GMT", 2008},
		{"©1998, 2001", 1998},
		{"0123", 0},    // not a year, not 123
		{"9999", 0},    // a placeholder
		{"2150", 2150}, // within range: read alike everywhere
		{"3000", 0},
		{"123", 0},
		{"123456", 0},
		{"20211399", 0}, // eight digits that are no date
		{"1984 [i.e. 1985]", 1984},
		{"no date", 0},
		{"", 0},
		{"s.l. : s.n., 19--", 0},
		{"MCMLXXXIV", 0},
		{"1999 2000", 1999},
	} {
		if got := YearOf(tt.date); got != tt.want {
			t.Errorf("YearOf(%q) = %d, want %d", tt.date, got, tt.want)
		}
	}
}
