// Package marc reads and writes MARC 21 bibliographic records — binary
// ISO 2709 and MARCXML (MARC 21 slim) — and maps them to federate.Record.
package marc

// Record is a MARC 21 record as it is on the wire, before mapping: the
// leader, the control fields (001–009) and the data fields, in order.
type Record struct {
	Leader  string
	Control []ControlField
	Data    []DataField
}

// ControlField is a field 001–009: a tag and a value, no indicators.
type ControlField struct {
	Tag   string
	Value string
}

// DataField is a field 010–999 with two indicators and subfields in order.
type DataField struct {
	Tag        string
	Ind1, Ind2 byte
	Subfields  []Subfield
}

// Subfield is one $code value pair.
type Subfield struct {
	Code  byte
	Value string
}

// ControlValue returns the value of the first control field with tag, or "".
func (r *Record) ControlValue(tag string) string {
	for _, f := range r.Control {
		if f.Tag == tag {
			return f.Value
		}
	}
	return ""
}

// Fields returns the data fields with tag, in order.
func (r *Record) Fields(tag string) []DataField {
	var out []DataField
	for _, f := range r.Data {
		if f.Tag == tag {
			out = append(out, f)
		}
	}
	return out
}

// Values returns the values of every subfield with code, in order.
func (f DataField) Values(code byte) []string {
	var out []string
	for _, s := range f.Subfields {
		if s.Code == code {
			out = append(out, s.Value)
		}
	}
	return out
}

// Value returns the first subfield value with code, or "".
func (f DataField) Value(code byte) string {
	for _, s := range f.Subfields {
		if s.Code == code {
			return s.Value
		}
	}
	return ""
}
