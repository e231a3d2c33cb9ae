//go:generate mdatagen metadata.yaml

// Package partnerpostbackexporter reports credited outcomes back to the
// referral partner that earned them: it reads the attribution processor's
// credit records (webjourney.attribution_credit) and sends one signed HTTP
// request per outcome and partner to the partner's postback URL, through
// the collector's sending queue and retry.
package partnerpostbackexporter // import "github.com/webjourney/webjourney/exporter/partnerpostbackexporter"
