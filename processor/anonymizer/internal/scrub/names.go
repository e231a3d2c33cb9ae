package scrub

import (
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
)

// This file is the one list of names whose value is personal data or a
// secret. It decides for query parameters (and path matrix parameters),
// for custom property names and for attribute names an OTLP client adds
// (the anonymizer asks DeniedName): a name is removed the same way
// wherever it appears. Names are matched in any case and separator style:
// "first_name", "firstName", "First-Name", "first.name", "customer[first_name]"
// and "FIRSTNAME" are one name.
//
// Three ways of matching, from the name's normalised form (ASCII lower
// case, separators - _ . space + and brackets removed) and its words (split
// at separators and at lower-to-upper case changes, lower-cased, numbers
// dropped):
//   - deniedExact: the whole normalised name ("email", "pwd", "nom").
//   - deniedContains / deniedSuffix: long, unambiguous words anywhere or at
//     the end of the normalised name ("useremail", "accesstoken",
//     "shippingaddress", "cellphone").
//   - personal words: a name whose last word is a word for "name" and whose
//     word before it says whose ("customer_name", "billingName",
//     "first-name"), or which is that word alone ("name", "Nom");
//     short ambiguous words ("mail", "tel", "mobile", "zip", "dob") count as
//     whole words only, so "hotel", "is_mobile", "adobe_id" and "zipper"
//     stay.
//
// Decisions on ambiguous names:
//   - "name" alone is removed: on a page URL it is mostly a form field
//     (?name=Jane+Doe on a thank-you page). A site whose "name" is a product
//     or event name allows it with allow_params. "productName",
//     "event_name", "file_name", "company_name" stay: the word before
//     "name" says it is no person's.
//   - "key" is NOT denied: it is common in ordinary URLs (sort keys,
//     i18n keys, cache keys). Its value is still scrubbed, and real API
//     keys are caught by the token detector (AIza..., AKIA..., entropy).
//     apikey / api_key / x-api-key and *secretkey, *privatekey,
//     *accesskey, *authkey, *sessionkey are denied.
//   - "sid" is NOT denied: in analytics and affiliate links it is mostly a
//     site, source or sub id (GA4 hits even use it for a session start
//     timestamp). Session identifiers are long random values that the
//     token detector removes; sessionid, session_id, sessid, phpsessid,
//     jsessionid and "session" are denied by name.
//   - "code" is denied only when the same query also carries "state",
//     "session_state" or "scope" (an OAuth 2.0 / OIDC authorization
//     response; see decide). Otherwise it is usually a promo, country or
//     product code. auth_code, authorization_code, otp, verification_code
//     and similar are always denied.
//   - "state" and "nonce" are kept (random CSRF values, not personal; long
//     ones are removed as tokens anyway).
//   - "cc" is denied (card number shorthand in form posts) although it is
//     sometimes a country code; "tel", "mobile", "mail", "zip" and "dob"
//     only as whole words ("hotel", "is_mobile", "gmail", "adobe" are
//     kept).
//   - "ticket" (CAS service tickets), "sig"/"signature"/"hmac" (signed
//     URLs: S3, GCS, CloudFront), "credential" (X-Amz-Credential) and
//     SAMLRequest/SAMLResponse (base64 XML that carries e-mail addresses)
//     are denied.
//   - "city", "country", "company", "gender", "age" are kept: alone they do
//     not identify anyone, and analytics needs them.

// deniedExact are normalised names that are always removed.
var deniedExact = setOf(
	// secrets and sessions
	"token", "auth", "authorization", "bearer", "jwt", "password", "passwd", "pwd", "pass", "passcode",
	"passphrase", "pin", "secret", "apikey", "session", "sess", "sessid", "sessionid", "otp", "totp",
	"mfacode", "authcode", "authorizationcode", "verificationcode", "verifycode", "resetcode",
	"confirmationcode", "signature", "sig", "hmac", "credential", "credentials", "samlresponse",
	"samlrequest", "ticket",
	// payment
	"card", "cc", "ccnum", "ccnumber", "cardnumber", "cardno", "pan", "cvv", "cvv2", "cvc", "cvc2", "iban",
	"accountnumber", "bankaccount", "routingnumber", "sortcode",
	// contact
	"email", "mail", "phone", "tel", "telephone", "mobile", "mobilephone", "mobilenumber", "mobileno",
	"mobilenr", "mobilenum", "msisdn", "fax", "cell", "cellphone", "handy", "whatsapp",
	// identity documents and birth
	"ssn", "socialsecuritynumber", "dob", "dateofbirth", "birthdate", "birthday", "passport", "nino",
	"nationalid", "taxid", "dni", "nie", "nif", "cpf", "bsn", "pesel", "personnummer", "codicefiscale",
	"steuerid", "licensenumber", "driverslicense",
	// a person's name, in the languages of the sites we serve
	"name", "names", "fullname", "firstname", "lastname", "surname", "surnames", "forename", "forenames",
	"givenname", "familyname", "middlename", "maidenname", "birthname", "nickname", "username", "realname",
	"legalname", "displayname", "fname", "lname", "mname", "cardholder", "cardholdername", "accountholder",
	"holdername", "nom", "prenom", "prénom", "nomdefamille", "nomcomplet", "vorname", "nachname",
	"familienname", "geburtsname", "rufname", "apellido", "apellidos", "nombre", "nombres",
	"nombrecompleto", "primernombre", "segundonombre", "nome", "cognome", "nomecompleto", "sobrenome",
	"apelido", "voornaam", "achternaam", "tussenvoegsel", "roepnaam", "naam", "imie", "imię", "nazwisko",
	"fornavn", "etternavn", "efternavn", "förnamn", "fornamn", "efternamn", "etunimi", "sukunimi",
	"jmeno", "jméno", "prijmeni", "příjmení", "meno", "priezvisko", "keresztnev", "keresztnév",
	"vezeteknev", "vezetéknév", "nev", "név", "prenume", "ime", "prezime", "soyad", "soyadi",
	"soyadı", "adsoyad", "isim", "imya", "familiya", "otchestvo", "имя", "фамилия", "отчество",
	"όνομα", "επώνυμο", "名前", "氏名", "姓名", "名字", "이름", "성명", "họtên", "hoten", "tên",
	// an address
	"address", "addr", "street", "streetaddress", "zip", "zipcode", "postcode", "postalcode", "plz",
	"postleitzahl", "codepostal", "codigopostal", "adresse", "adres", "adresa", "direccion", "dirección",
	"indirizzo", "endereco", "endereço", "anschrift", "strasse", "straße", "hausnummer", "straatnaam",
	"huisnummer", "morada", "domicilio", "calle", "cep",
	// more contact fields and people
	"initials", "voorletters", "userlogin", "contactperson", "ansprechpartner", "destinatario",
	"destinataire", "empfänger", "empfaenger", "ontvanger", "recipient", "mobil", "mobiel", "movil", "móvil",
	"celular", "mobilnummer", "handynummer", "gsmnummer", "postaelettronica", "pec",
)

// Normalised names containing one of these are denied: user_email,
// access_token, id_token, client_secret, x-amz-signature, new_password,
// PHPSESSID, billingAddress, customer_phone, date_of_birth, shipping_street,
// customer_firstname, delivery_postcode, ... Only words that mean the same
// inside any longer name are here.
var deniedContains = []string{
	"email", "token", "password", "passwd", "secret", "apikey", "sessionid", "sessid", "cardnumber",
	"creditcard", "signature", "credential", "phonenumber", "iban", "phone", "address", "street",
	"postcode", "zipcode", "postalcode", "birth", "firstname", "lastname", "fullname", "surname",
	"forename", "givenname", "familyname", "middlename", "maidenname", "username", "cardholder",
	"accountholder", "passport", "nationalid", "socialsecurity", "telefon", "teléfono", "telephone",
	"courriel",
	"geburt", "denacimiento", "dinascita", "denaissance", "geboorte", "vorname", "nachname", "prenom",
	"prénom", "apellido", "cognome", "voornaam", "achternaam", "nazwisko",
	// addresses, e-mail and phone words of other languages: lieferadresse, rechnungsadresse,
	// adresse_de_livraison, direccion_envio, indirizzo_spedizione, endereco_entrega,
	// correo_electronico, numero_cellulare, telefoonnummer
	"adresse", "direccion", "dirección", "indirizzo", "endereco", "endereço", "correo", "cellulare",
	"telefoon", "handynummer", "mobilnummer",
}

// ... or ending in one of these: user_ssn, card_cvv, private_key,
// auth_key, one_time_pwd. (Short contact words are matched as words,
// not as endings: "hotel", "automobile", "gmail" end in tel, mobile, mail.)
var deniedSuffix = []string{
	"ssn", "cvv", "cvc", "privatekey", "secretkey", "accesskey", "authkey", "sessionkey", "signingkey",
	"authcode", "pwd", "otp",
}

// nameWords are the words for "name": a name ending in one of them is a
// person's when the word before says whose.
var nameWords = setOf("name", "names", "nom", "nombre", "nome", "naam", "navn", "namn", "nimi", "imie", "jmeno")

// personWords say that the name after them is a person's: first_name,
// customerName, billing-name, name_of_recipient.
var personWords = setOf(
	"first", "last", "full", "given", "family", "middle", "maiden", "sur", "fore", "birth", "real", "legal",
	"display", "nick", "user", "customer", "client", "contact", "billing", "shipping", "delivery",
	"recipient", "sender", "buyer", "patient", "guest", "passenger", "traveler", "traveller", "member",
	"owner", "holder", "cardholder", "account", "person", "applicant", "student", "employee", "parent",
	"child", "spouse", "your", "my", "emergency", "primary", "secondary", "signatory", "signer",
	"attendee", "participant", "candidate", "tenant", "landlord", "beneficiary", "author", "reviewer",
	"subscriber", "visitor", "lead", "referrer", "friend", "contactperson", "mother", "father", "home",
	"work", "private", "personal", "payer", "to", "shipto", "billto", // ship_to_name, bill_to_name
	// the same in the languages of nameWords: nombre_cliente, nome_do_cliente, kundenname,
	// naam_klant, primeiro_nome, ultimo_nome, nombre_destinatario
	"cliente", "clientes", "kunde", "kunden", "klant", "klanten", "destinatario", "destinataire", "ontvanger",
	"empfänger", "titular", "titolare", "pagador", "primeiro", "primer", "segundo", "ultimo", "último",
	"utente", "usuario", "usuário", "utilisateur", "benutzer", "gebruiker", "contacto", "contatto", "contato",
)

// contactWords are short words that are a contact field only as a whole
// word of the name: "contact_tel", "zip_code", "mail_to" (not "hotel_id",
// "zipper_color", "gmail").
var contactWords = setOf("mail", "tel", "fax", "zip", "dob", "addr")

// numberWords stand next to a mobile word in a contact field:
// mobile_number, mobileNo, numero_portable, numero_movil.
var numberWords = setOf("number", "no", "nr", "num", "phone", "tel", "numero", "número", "nummer", "numéro")

// mobileWords are a contact field only next to a number or person word:
// customer_mobile, numero_portable (not is_mobile, mobile_app, portable).
var mobileWords = setOf("mobile", "portable", "mobil", "movil", "móvil", "celular", "cell", "handy", "gsm")

// DeniedByDefault reports whether the built-in list removes a name,
// whatever allow_params and deny_params say.
func DeniedByDefault(name string) bool {
	var buf [64]byte
	return builtinDenied(name, normName(buf[:0], name))
}

// builtinDenied reports whether the built-in list removes a name; norm is
// its normalised form.
func builtinDenied(name string, norm []byte) bool {
	if _, ok := deniedExact[string(norm)]; ok {
		return true
	}
	str := string(norm) // no allocation: only used for comparisons below
	for _, w := range deniedContains {
		if strings.Contains(str, w) {
			return true
		}
	}
	for _, w := range deniedSuffix {
		if strings.HasSuffix(str, w) {
			return true
		}
	}
	if personalCompound(str) {
		return true
	}
	// The word rules are for field names; a "name" with spaces is text
	// (a fragment read as a query: "#ZIP 90210-1234", "#Call us"). Its
	// compounds were judged above ("Last Name", "Your Name").
	if strings.IndexByte(name, ' ') < 0 && personalWords(name) {
		return true
	}
	if hasNonASCII(name) {
		// PRÉNOM, ИМЯ: case-fold the other scripts too (rare: allocates;
		// normName folded ASCII already, so ASCII names never get here).
		if lower := strings.ToLower(name); lower != name {
			var buf [64]byte
			return builtinDenied(lower, normName(buf[:0], lower))
		}
	}
	return false
}

func hasNonASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

// compoundEnds are the words a person word may be glued to: a name or a
// short contact field ("billingname", "customermobile", "contacttel").
//
// It and the two lists below are slices because they are only walked, once
// per name on the hot path: walking a map costs far more.
var compoundEnds = append([]string{"tel", "mail", "mobile", "fax"}, sortedKeys(nameWords)...)

var (
	nameList   = sortedKeys(nameWords)
	mobileList = sortedKeys(mobileWords)
)

func sortedKeys(m map[string]bool) []string {
	return slices.Sorted(maps.Keys(m))
}

// personalCompound reports whether a normalised name glues a person word
// and a word for "name" or a contact field: "billingname",
// "customermobile", "contacttel", "namefirst".
func personalCompound(norm string) bool {
	for _, end := range compoundEnds {
		if prefix, ok := strings.CutSuffix(norm, end); ok && prefix != "" {
			// A two-letter word counts only whole ("myname", "toname"),
			// or it glues to too much ("photoname").
			if endsWithWord(prefix, personWords) {
				return true
			}
		}
	}
	for _, nw := range nameList {
		// namefirst, nomedocliente, nombredeldestinatario
		if rest, ok := strings.CutPrefix(norm, nw); ok && endsWithWord(rest, personWords) {
			return true
		}
	}
	for _, mw := range mobileList {
		// numeroportable, cellnumber (not portable, handycase)
		if prefix, ok := strings.CutSuffix(norm, mw); ok && endsWithWord(prefix, numberWords) {
			return true
		}
		if rest, ok := strings.CutPrefix(norm, mw); ok && numberWords[rest] {
			return true
		}
	}
	return false
}

// endsWithWord reports whether s is one of words or ends in one of
// them longer than two letters.
func endsWithWord(s string, words map[string]bool) bool {
	if words[s] {
		return true
	}
	for w := range words {
		if len(w) > 2 && strings.HasSuffix(s, w) {
			return true
		}
	}
	return false
}

// maxNameWords bounds the words of a name that are looked at: the last
// ones count.
const maxNameWords = 8

// words are the last words of a name, lower-cased.
type words struct {
	store [maxNameWords][maxWord]byte
	len   [maxNameWords]int
	total int // words seen; the last min(total, maxNameWords) are kept
}

func (w *words) n() int { return min(w.total, maxNameWords) }

// at returns the i-th kept word (0 = the first kept). Look it up as
// m[string(w.at(i))], which does not allocate.
func (w *words) at(i int) []byte {
	slot := (w.total - w.n() + i) % maxNameWords
	return w.store[slot][:w.len[slot]]
}

// split splits a name into words at non-letters and at lower-to-upper
// case changes, dropping numbers ("billingAddress1" -> billing,
// address). Words longer than maxWord are cut.
func (w *words) split(name string) {
	slot := -1 // of the word being read, or -1 between words
	prevLower := false
	for i := 0; i < len(name); {
		c := name[i]
		size := 1
		letter := isAlpha(c)
		if c >= utf8.RuneSelf {
			_, size = utf8.DecodeRuneInString(name[i:])
			letter = true // a letter of another script: part of the word
		}
		if !letter {
			slot, prevLower = -1, false
			i += size
			continue
		}
		if slot < 0 || prevLower && isUpper(c) {
			slot = w.total % maxNameWords
			w.len[slot] = 0
			w.total++
		}
		for k := 0; k < size && w.len[slot]+size <= maxWord; k++ {
			b := name[i+k]
			if isUpper(b) {
				b |= 0x20
			}
			w.store[slot][w.len[slot]] = b
			w.len[slot]++
		}
		prevLower = isLower(c) || c >= utf8.RuneSelf
		i += size
	}
}

// personalWords applies the word rules to a name's words.
func personalWords(name string) bool {
	var w words
	w.split(name)
	n := w.n()
	if n == 0 {
		return false
	}
	if nameWords[string(w.at(n-1))] && (n == 1 || personWords[string(w.at(n-2))]) {
		return true // name, customer_name, billingName
	}
	for i := range n - 1 {
		if nameWords[string(w.at(i))] {
			for j := i + 1; j < n; j++ {
				if personWords[string(w.at(j))] {
					return true // name_first, name_of_recipient, person.name.given
				}
			}
		}
	}
	for i := range n {
		switch word := w.at(i); {
		case contactWords[string(word)]:
			return true
		case mobileWords[string(word)]:
			// mobile_number, customer_mobile, numero_portable; not
			// is_mobile, mobile_app.
			if i+1 < n && numberWords[string(w.at(i+1))] || i > 0 && (personWords[string(w.at(i-1))] || numberWords[string(w.at(i-1))]) {
				return true
			}
		}
	}
	return false
}
