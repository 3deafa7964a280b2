package requests

import (
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ISO 18626 (the interlibrary loan protocol, 2017/2021 schema, version
// 1.2) is the second way an institution hears of requests. The deliverer
// turns each queued delivery into one message:
//
//   - a new loan or copy, for the supplier: a <request>;
//   - a change the requester made (Cancelled), for the supplier: a
//     <requestingAgencyMessage> with action Cancel;
//   - a change the supplier made, for the requester: a
//     <supplyingAgencyMessage> with the status's ISO 18626 name (the
//     lifecycle's statuses are ISO 18626 names already) and
//     reasonForMessage StatusChange.
//
// Agencies are identified by the Commonshelf institution ids with
// agencyIdType CSHELF (ISO 18626 leaves the type open; CSHELF says "an id
// from this consortium's configuration", not an ISIL). The request id is
// requestingAgencyRequestId. The loan's pickup location is sent as line1 of
// the physicalAddress of requestedDeliveryInfo, the only place the schema
// has for where the item goes. needBeforeDate is the end (23:59:59 UTC) of
// the needed_by day.

// ISO18626Namespace is the namespace of every ISO 18626 message.
const ISO18626Namespace = "http://illtransactions.org/2013/iso18626"

// ISO18626AgencyIDType is the agencyIdType of the institution ids sent as
// supplyingAgencyId and requestingAgencyId.
const ISO18626AgencyIDType = "CSHELF"

// isoMessage is an outgoing ISO18626Message: exactly one of the message
// fields is set. The version attribute is qualified with the ill prefix,
// as the schema has it.
type isoMessage struct {
	XMLName                 xml.Name                    `xml:"ISO18626Message"`
	Xmlns                   string                      `xml:"xmlns,attr"`
	XmlnsIll                string                      `xml:"xmlns:ill,attr"`
	Version                 string                      `xml:"ill:version,attr"`
	Request                 *isoRequest                 `xml:"request,omitempty"`
	SupplyingAgencyMessage  *isoSupplyingAgencyMessage  `xml:"supplyingAgencyMessage,omitempty"`
	RequestingAgencyMessage *isoRequestingAgencyMessage `xml:"requestingAgencyMessage,omitempty"`
}

// ISO18626Agency is an agencyId (supplyingAgencyId, requestingAgencyId).
type ISO18626Agency struct {
	Type  string `xml:"agencyIdType"`
	Value string `xml:"agencyIdValue"`
}

// isoHeader is the header of a request and of the agency messages; the
// fields are in the schema's order.
type isoHeader struct {
	SupplyingAgencyID         ISO18626Agency `xml:"supplyingAgencyId"`
	RequestingAgencyID        ISO18626Agency `xml:"requestingAgencyId"`
	MultipleItemRequestID     string         `xml:"multipleItemRequestId"`
	Timestamp                 string         `xml:"timestamp"`
	RequestingAgencyRequestID string         `xml:"requestingAgencyRequestId"`
}

type isoRequest struct {
	Header                isoHeader                 `xml:"header"`
	BibliographicInfo     isoBibliographicInfo      `xml:"bibliographicInfo"`
	PublicationInfo       *isoPublicationInfo       `xml:"publicationInfo,omitempty"`
	ServiceInfo           isoServiceInfo            `xml:"serviceInfo"`
	RequestedDeliveryInfo *isoRequestedDeliveryInfo `xml:"requestedDeliveryInfo,omitempty"`
}

type isoBibliographicInfo struct {
	SupplierUniqueRecordID string         `xml:"supplierUniqueRecordId,omitempty"`
	Title                  string         `xml:"title,omitempty"`
	Author                 string         `xml:"author,omitempty"`
	Edition                string         `xml:"edition,omitempty"`
	BibliographicItemID    []isoBibItemID `xml:"bibliographicItemId,omitempty"`
}

type isoBibItemID struct {
	Identifier string `xml:"bibliographicItemIdentifier"`
	Code       string `xml:"bibliographicItemIdentifierCode"`
}

type isoPublicationInfo struct {
	Publisher       string `xml:"publisher,omitempty"`
	PublicationDate string `xml:"publicationDate,omitempty"`
}

type isoServiceInfo struct {
	ServiceType    string `xml:"serviceType"`
	NeedBeforeDate string `xml:"needBeforeDate,omitempty"`
	Note           string `xml:"note,omitempty"`
}

type isoRequestedDeliveryInfo struct {
	Address isoAddress `xml:"address"`
}

type isoAddress struct {
	PhysicalAddress isoPhysicalAddress `xml:"physicalAddress"`
}

type isoPhysicalAddress struct {
	Line1 string `xml:"line1"`
}

type isoSupplyingAgencyMessage struct {
	Header      isoHeader      `xml:"header"`
	MessageInfo isoMessageInfo `xml:"messageInfo"`
	StatusInfo  isoStatusInfo  `xml:"statusInfo"`
}

type isoMessageInfo struct {
	ReasonForMessage string `xml:"reasonForMessage"`
	Note             string `xml:"note,omitempty"`
}

type isoStatusInfo struct {
	Status     string `xml:"status"`
	LastChange string `xml:"lastChange"`
}

type isoRequestingAgencyMessage struct {
	Header isoHeader `xml:"header"`
	Action string    `xml:"action"`
	Note   string    `xml:"note,omitempty"`
}

// ISO 18626 message names, as they appear in the XML; a confirmation's name
// is the message's with "Confirmation" appended.
const (
	ISO18626Request                 = "request"
	ISO18626SupplyingAgencyMessage  = "supplyingAgencyMessage"
	ISO18626RequestingAgencyMessage = "requestingAgencyMessage"
)

// errNoISOMessage marks a delivery no ISO 18626 message expresses.
var errNoISOMessage = errors.New("no ISO 18626 message expresses this delivery")

func isoTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// ISO18626Message renders delivery dl as the ISO 18626 XML message sent to
// its institution and returns it with the message's name. The same
// delivery always renders the same bytes: the timestamp is the event's.
func ISO18626Message(dl Delivery) (body []byte, name string, err error) {
	r := dl.Request
	if r == nil {
		return nil, "", fmt.Errorf("delivery %s has no request: %w", dl.ID, errNoISOMessage)
	}
	at := r.Created
	var note string
	if n := len(r.History); n > 0 && dl.Event == EventStatusChanged {
		at, note = r.History[n-1].At, r.History[n-1].Note
	}
	h := isoHeader{
		SupplyingAgencyID:         ISO18626Agency{ISO18626AgencyIDType, r.Supplier},
		RequestingAgencyID:        ISO18626Agency{ISO18626AgencyIDType, r.Requester},
		Timestamp:                 isoTime(at),
		RequestingAgencyRequestID: r.ID,
	}
	m := isoMessage{Xmlns: ISO18626Namespace, XmlnsIll: ISO18626Namespace, Version: "1.2"}
	switch {
	case r.Kind != KindLoan && r.Kind != KindCopy:
		return nil, "", fmt.Errorf("a %s request: %w", r.Kind, errNoISOMessage)
	case dl.Event == EventCreated && dl.Institution == r.Supplier:
		m.Request, name = isoRequestOf(r, h), ISO18626Request
	case dl.Event == EventStatusChanged && dl.Institution == r.Supplier && r.Status == Cancelled:
		m.RequestingAgencyMessage, name = &isoRequestingAgencyMessage{Header: h, Action: "Cancel", Note: note}, ISO18626RequestingAgencyMessage
	case dl.Event == EventStatusChanged && dl.Institution == r.Requester:
		m.SupplyingAgencyMessage = &isoSupplyingAgencyMessage{Header: h,
			MessageInfo: isoMessageInfo{ReasonForMessage: "StatusChange", Note: note},
			StatusInfo:  isoStatusInfo{Status: string(r.Status), LastChange: isoTime(at)}}
		name = ISO18626SupplyingAgencyMessage
	default:
		return nil, "", fmt.Errorf("%s of a %s request for %s (status %s): %w", dl.Event, r.Kind, dl.Institution, r.Status, errNoISOMessage)
	}
	out, err := xml.Marshal(m)
	if err != nil {
		return nil, "", err
	}
	return append([]byte(xml.Header), out...), name, nil
}

func isoRequestOf(r *Request, h isoHeader) *isoRequest {
	md := r.Metadata
	req := &isoRequest{Header: h, BibliographicInfo: isoBibliographicInfo{
		SupplierUniqueRecordID: r.Source.RecordID,
		Title:                  md.Title,
		Author:                 strings.Join(md.Authors, "; "),
		Edition:                md.Edition,
	}}
	for _, v := range md.Identifiers.ISBN {
		req.BibliographicInfo.BibliographicItemID = append(req.BibliographicInfo.BibliographicItemID, isoBibItemID{v, "ISBN"})
	}
	for _, v := range md.Identifiers.ISSN {
		req.BibliographicInfo.BibliographicItemID = append(req.BibliographicInfo.BibliographicItemID, isoBibItemID{v, "ISSN"})
	}
	if md.Publisher != "" || md.Year > 0 {
		p := &isoPublicationInfo{Publisher: md.Publisher}
		if md.Year > 0 {
			p.PublicationDate = strconv.Itoa(md.Year)
		}
		req.PublicationInfo = p
	}
	req.ServiceInfo.ServiceType = "Loan"
	if r.Kind == KindCopy {
		req.ServiceInfo.ServiceType = "Copy"
	}
	if d, err := time.Parse(time.DateOnly, r.NeededBy); err == nil {
		req.ServiceInfo.NeedBeforeDate = isoTime(d.Add(24*time.Hour - time.Second))
	}
	if r.PickupLocation != "" {
		req.RequestedDeliveryInfo = &isoRequestedDeliveryInfo{Address: isoAddress{isoPhysicalAddress{Line1: r.PickupLocation}}}
	}
	return req
}

// ISO18626Confirmation is the part of a receiver's answer the deliverer
// reads: which confirmation it is and its status.
type ISO18626Confirmation struct {
	// Name is the confirmation element's name ("requestConfirmation", …).
	Name string
	// Status is confirmationHeader/messageStatus: "OK" or "ERROR".
	Status string
	// ErrorType and ErrorValue are errorData's, when the receiver sent it.
	ErrorType, ErrorValue string
}

type isoConfirmationBody struct {
	ConfirmationHeader struct {
		MessageStatus string `xml:"messageStatus"`
	} `xml:"confirmationHeader"`
	ErrorData *struct {
		ErrorType  string `xml:"errorType"`
		ErrorValue string `xml:"errorValue"`
	} `xml:"errorData"`
}

type isoAnswer struct {
	XMLName xml.Name             `xml:"ISO18626Message"`
	Req     *isoConfirmationBody `xml:"requestConfirmation"`
	Sup     *isoConfirmationBody `xml:"supplyingAgencyMessageConfirmation"`
	ReqAg   *isoConfirmationBody `xml:"requestingAgencyMessageConfirmation"`
}

// ParseISO18626Confirmation reads a receiver's answer.
func ParseISO18626Confirmation(body []byte) (ISO18626Confirmation, error) {
	var a isoAnswer
	if err := xml.Unmarshal(body, &a); err != nil {
		return ISO18626Confirmation{}, fmt.Errorf("the answer is not an ISO18626Message: %w", err)
	}
	var c ISO18626Confirmation
	var b *isoConfirmationBody
	switch {
	case a.Req != nil:
		c.Name, b = ISO18626Request+"Confirmation", a.Req
	case a.Sup != nil:
		c.Name, b = ISO18626SupplyingAgencyMessage+"Confirmation", a.Sup
	case a.ReqAg != nil:
		c.Name, b = ISO18626RequestingAgencyMessage+"Confirmation", a.ReqAg
	default:
		return c, errors.New("the answer holds no confirmation")
	}
	c.Status = strings.TrimSpace(b.ConfirmationHeader.MessageStatus)
	if b.ErrorData != nil {
		c.ErrorType, c.ErrorValue = strings.TrimSpace(b.ErrorData.ErrorType), strings.TrimSpace(b.ErrorData.ErrorValue)
	}
	return c, nil
}
