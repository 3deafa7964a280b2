package federate

// MinYear and MaxYear bound the publication years a catalogue date can
// give: anything outside is a typo, a placeholder ("9999", "0000") or a
// number that is not a year, and reads as no year.
const (
	MinYear = 1000
	MaxYear = 2999
)

// YearOf is the publication year of a catalogue date as members write it,
// 0 when it has none. It is the one reading of a date for every connector,
// so that the same date gives the same year whichever member sent it — the
// title key and the year veto of merging depend on it.
//
// The year is the first run of digits that is exactly four long
// ("c2008.", "[2016?]", "2008-2010", "Sun, 14 Sep 2008", "2021-04-01") or a
// compact date of eight (YYYYMMDD: "20210401"), whose value lies in
// MinYear..MaxYear. Other runs ("123", "0123", "123456", "9999") are
// passed over.
func YearOf(date string) int {
	s := date
	for i := 0; i < len(s); {
		if s[i] < '0' || s[i] > '9' {
			i++
			continue
		}
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if n := j - i; n == 4 || n == 8 && compactDate(s[i:j]) {
			y := int(s[i]-'0')*1000 + int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0')
			if y >= MinYear && y <= MaxYear {
				return y
			}
		}
		i = j
	}
	return 0
}

// compactDate reports whether eight digits read as YYYYMMDD with a month
// 01–12 and a day 01–31.
func compactDate(d string) bool {
	m := int(d[4]-'0')*10 + int(d[5]-'0')
	day := int(d[6]-'0')*10 + int(d[7]-'0')
	return m >= 1 && m <= 12 && day >= 1 && day <= 31
}
