package scrub

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// PersonalNames are names of fields that hold a person's name or contact
// details, in several languages; styleVariants writes each in every case
// and separator style.
var PersonalNames = []string{
	// English
	"name", "full_name", "first_name", "last_name", "given_name", "family_name", "middle_name", "maiden_name",
	"surname", "forename", "nickname", "user_name", "username", "display_name", "real_name", "legal_name",
	"customer_name", "client_name", "contact_name", "billing_name", "shipping_name", "delivery_name",
	"recipient_name", "sender_name", "buyer_name", "patient_name", "guest_name", "passenger_name",
	"traveler_name", "member_name", "owner_name", "cardholder_name", "card_holder_name", "account_holder",
	"account_name", "your_name", "emergency_contact_name", "fname", "lname", "name_first", "name_last",
	"customer_first_name", "billing_first_name", "shipping_last_name", "contact_person_name",
	"email", "user_email", "email_address", "contact_email", "mail", "e_mail", "phone", "phone_number",
	"telephone", "tel", "contact_tel", "mobile", "mobile_number", "mobile_phone", "customer_mobile",
	"cell_phone", "fax", "address", "street_address", "billing_address", "shipping_address",
	"address_line_1", "address2", "street", "zip", "zip_code", "postcode", "postal_code", "dob",
	"date_of_birth", "birth_date", "birthday", "ssn", "passport_number", "national_id",
	// French, German, Spanish, Italian, Portuguese, Dutch
	"nom", "prenom", "prénom", "nom_de_famille", "nom_complet", "adresse", "code_postal", "date_de_naissance",
	"courriel", "téléphone", "vorname", "nachname", "familienname", "geburtsdatum", "anschrift", "strasse",
	"straße", "plz", "postleitzahl", "handy", "telefonnummer", "apellido", "apellidos", "nombre",
	"nombre_completo", "direccion", "dirección", "codigo_postal", "fecha_de_nacimiento", "telefono",
	"teléfono", "nome", "cognome", "nome_completo", "indirizzo", "data_di_nascita", "sobrenome", "endereço",
	"telefone", "voornaam", "achternaam", "tussenvoegsel", "geboortedatum", "adres", "naam",
	// Nordic, Central and Eastern European, Turkish, Greek, Russian, East Asian
	"fornavn", "etternavn", "efternavn", "förnamn", "efternamn", "etunimi", "sukunimi", "imie", "imię",
	"nazwisko", "jmeno", "jméno", "příjmení", "priezvisko", "vezetéknév", "keresztnév", "prenume", "ime",
	"prezime", "soyad", "soyadı", "isim", "όνομα", "επώνυμο", "имя", "фамилия", "отчество", "名前", "氏名",
	"姓名", "이름", "성명",
	// nested form fields and prefixes
	"customer[first_name]", "billing[last_name]", "order[billing_address]", "user.email", "contact-phone",
	"data[user][full_name]", "checkout_shipping_address_street", "form_email_1", "person.name.given",
	// compounds in other languages and styles
	"nombre_cliente", "nome_cliente", "kundenname", "kunden_name", "nom_client", "naam_klant", "primeiro_nome",
	"ultimo_nome", "cliente_nome", "nome_do_cliente", "nombre_destinatario", "naam_ontvanger",
	"adresse_de_livraison", "lieferadresse", "rechnungsadresse", "adresse_postale", "e_mail_adresse",
	"direccion_envio", "direccion_de_envio", "indirizzo_spedizione", "endereco_entrega", "endereço_de_entrega",
	"numero_de_telephone", "numéro_de_téléphone", "telefoonnummer", "numero_cellulare", "cellulare", "movil",
	"móvil", "telefono_movil", "numero_portable", "tel_portable", "mobilnummer", "handynummer", "correo",
	"correo_electronico", "posta_elettronica", "ship_to_name", "bill_to_name", "shipto_name", "payer_name",
	"card_holder", "user_login", "contact_person", "ansprechpartner", "destinatario", "voorletters",
	"straatnaam", "huisnummer", "morada", "domicilio", "cep",
}

// harmlessNames must stay: the analytics of a page depends on them.
var harmlessNames = []string{
	"product_name", "productName", "event_name", "file_name", "filename", "company_name", "page_name",
	"campaign_name", "plan_name", "category_name", "brand_name", "store_name", "site_name", "form_name",
	"list_name", "hotel", "hotel_id", "is_mobile", "mobile_app", "mobile_view", "automobile", "adobe_id",
	"zipper_color", "gmail_campaign", "mailchimp_id", "namespace", "renamed", "nominal", "economy",
	"anomaly", "tab", "sort", "page", "q", "color", "size", "sku", "qty", "price", "currency", "lang",
	"country", "city", "gender", "utm_source", "utm_name", "ref", "plan", "seats", "order", "cart_value",
	"app.version", "device_name", "browser_name", "os_name", "model_name", "code", "state", "nonce", "sid",
	"key", "id", "user_id", "uid", "visitor_id", "step", "variant", "experiment_name", "pagename",
	"screen_name", "firebase_screen", "photoname", "photo_name", "sort_direction", "direction", "client_id",
	"customer_id", "cliente_id", "kunden_id", "usuario_id", "app_name", "nombre_producto", "nome_prodotto",
	"nom_produit", "produktname", "productnaam", "portable", "cp", "login", "contact", "via", "redirect_to",
	"to", "from", "mobile_device", "cell_type", "handy_case", "tab_name", "autor",
}

// styleVariants writes a snake_case name in other styles.
func styleVariants(name string) []string {
	words := strings.FieldsFunc(name, func(r rune) bool { return r == '_' })
	camel, pascal := "", ""
	for i, w := range words {
		up := strings.ToUpper(w[:1]) + w[1:]
		if i == 0 {
			camel += w
		} else {
			camel += up
		}
		pascal += up
	}
	return []string{name, strings.ToUpper(name), camel, pascal, strings.ReplaceAll(name, "_", "-"),
		strings.ReplaceAll(name, "_", "."), strings.ReplaceAll(name, "_", " "), strings.ReplaceAll(name, "_", "")}
}

func TestPersonalNames(t *testing.T) {
	s := allOn(t)
	for _, n := range PersonalNames {
		for _, v := range styleVariants(n) {
			if !strings.ContainsAny(n, "_") && v != n && v != strings.ToUpper(n) {
				continue
			}
			assert.True(t, DeniedByDefault(v), "%q (%s) is a personal field", v, n)
			assert.True(t, s.DeniedName(v), "%q as a property", v)
			out, c := s.Query(v + "=Jane+Doe&page=2")
			assert.Equal(t, "page=2", out, "%q as a query parameter", v)
			assert.Equal(t, 1, c.Get(Param))
		}
	}
	for _, n := range harmlessNames {
		assert.False(t, DeniedByDefault(n), "%q is no personal field", n)
		assert.False(t, s.DeniedName(n), "%q as a property", n)
	}
}

// allow_params and deny_params apply to property and attribute names as
// to query parameters: one list, one decision.
func TestNamesConfiguredOnce(t *testing.T) {
	s, err := New(Config{Detectors: AllDetectors, AllowParams: []string{"name"}, DenyParams: []string{"productName"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"name", "Name"} {
		assert.False(t, s.DeniedName(n), n)
		out, _ := s.Query(n + "=Summer+sale")
		assert.Equal(t, n+"=Summer+sale", out)
	}
	for _, n := range []string{"product_name", "productName", "PRODUCT-NAME"} {
		assert.True(t, s.DeniedName(n), n)
		out, _ := s.Query(n + "=Sofa")
		assert.Empty(t, out)
	}
}
