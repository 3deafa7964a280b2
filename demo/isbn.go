package demo

import "github.com/commonshelf/commonshelf/federate"

// ISBN helpers for building member records. They accept only the digits
// (and a final X) of a bare ISBN; goodbooks data is already cleaned to that.

// validISBN10 reports whether s is a bare ISBN-10 with a correct check digit.
func validISBN10(s string) bool {
	_, ok := federate.NormalizeISBN(s)
	return ok && len(s) == 10
}

// isbn10to13 converts a valid ISBN-10 to its ISBN-13 (978 prefix).
func isbn10to13(isbn10 string) string {
	n, _ := federate.NormalizeISBN(isbn10)
	return n
}

// hyphenate13 writes an ISBN-13 as prefix-group-registrant-publication-check
// with a one-digit group and a three-digit registrant. That is the right
// split for the common English-language ranges (978-0-439-02348-1) and a
// consistent, if not always correct, one for the others.
func hyphenate13(s string) string {
	return s[:3] + "-" + s[3:4] + "-" + s[4:7] + "-" + s[7:12] + "-" + s[12:]
}

// altISBN13 is the synthetic ISBN of a demo alternate edition: the 979-8
// range (which no goodbooks ISBN uses, all of them being 978) followed by
// the last eight digits of the work's ISBN body and a valid check digit.
func altISBN13(isbn10 string) string {
	d := "9798" + isbn10[1:9]
	return d + string(federate.ISBN13CheckDigit(d))
}
