//! The billing-readiness rules of an establishment (administrators).

use crate::extract::PagePath as Path;
use axum::http::StatusCode;
use quittance_domain::access::{Permission, Scope};
use quittance_domain::identity::IdentityStatus;
use quittance_domain::readiness::Rules;
use quittance_domain::validation::FieldErrors;
use quittance_domain::care::stay::{CARE_MODES, CareMode};
use quittance_store::readiness;
use serde::Deserialize;

use crate::session::{Ctx, CsrfForm};
use crate::render::{Field, FormPage, Opt, PageResult, see_other, with_errors};

/// The form as typed (checkboxes are `on` or absent).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RulesForm {
    min_identity_status: String,
    birth_place_required: String,
    debtor_required: String,
    debtor_address_required: String,
    compulsory_coverage_required: String,
    complementary_care_modes: String,
    pec_required: String,
    pec_answer_days: String,
    documents_required: String,
    /// The version of the rules the form showed (0: none saved yet).
    version: String,
}

fn on(b: bool) -> String {
    if b { "on".into() } else { String::new() }
}

impl RulesForm {
    fn from_rules(r: &Rules) -> RulesForm {
        RulesForm {
            min_identity_status: r.min_identity_status.map(|s| s.code().to_string()).unwrap_or_default(),
            birth_place_required: on(r.birth_place_required),
            debtor_required: on(r.debtor_required),
            debtor_address_required: on(r.debtor_address_required),
            compulsory_coverage_required: on(r.compulsory_coverage_required),
            complementary_care_modes: quittance_store::shared::rows::codes_text(&r.complementary_for_care_modes),
            pec_required: on(r.pec_required),
            pec_answer_days: r.pec_answer_days.to_string(),
            documents_required: on(r.documents_required),
            version: String::new(),
        }
    }

    /// Parse, don't validate: the rules, or the errors by field.
    fn parse(&self) -> Result<Rules, FieldErrors> {
        let mut e = FieldErrors::new();
        let min_identity_status = match self.min_identity_status.trim() {
            "" => None,
            c => {
                let s = IdentityStatus::from_code(c);
                if s.is_none() {
                    e.add("min_identity_status", "Statut d'identité inconnu.");
                }
                s
            }
        };
        let codes: Vec<&str> = self.complementary_care_modes.split(',').map(str::trim).filter(|m| !m.is_empty()).collect();
        let modes: Vec<CareMode> = codes.iter().filter_map(|m| CareMode::from_code(m)).collect();
        if modes.len() != codes.len() {
            e.add("complementary_care_modes", "Mode de prise en charge inconnu.");
        }
        let pec_answer_days = match self.pec_answer_days.trim().parse::<i64>() {
            Ok(d) if (1..=365).contains(&d) => d,
            _ => {
                e.add("pec_answer_days", "Un nombre de jours entre 1 et 365.");
                0
            }
        };
        let yes = |v: &str| matches!(v.trim(), "on" | "true" | "1");
        e.into_result()?;
        Ok(Rules {
            min_identity_status,
            birth_place_required: yes(&self.birth_place_required),
            debtor_address_required: yes(&self.debtor_address_required),
            compulsory_coverage_required: yes(&self.compulsory_coverage_required),
            complementary_for_care_modes: modes,
            debtor_required: yes(&self.debtor_required),
            pec_required: yes(&self.pec_required),
            pec_answer_days,
            documents_required: yes(&self.documents_required),
        })
    }
}

async fn form(ctx: &Ctx, est: i64, f: &RulesForm, errors: &FieldErrors) -> PageResult {
    let e = quittance_store::establishments::get(&ctx.state.db, ctx.actor(), est).await?;
    let statuses: Vec<Opt> = std::iter::once(Opt { value: String::new(), label: "Pas de contrôle".into(), selected: f.min_identity_status.is_empty() })
        .chain(IdentityStatus::ALL.iter().map(|s| Opt { value: s.code().into(), label: s.label().into(), selected: f.min_identity_status == s.code() }))
        .collect();
    let fields = vec![
        Field::text("min_identity_status", "Statut d'identité minimal (RNIV)", &f.min_identity_status).select_opts(statuses),
        Field::checkbox("birth_place_required", "Lieu de naissance renseigné", !f.birth_place_required.is_empty()),
        Field::checkbox("debtor_required", "Un débiteur pour la part du patient", !f.debtor_required.is_empty()),
        Field::checkbox("debtor_address_required", "Adresse complète du débiteur par défaut", !f.debtor_address_required.is_empty()),
        Field::checkbox("compulsory_coverage_required", "Droit obligatoire valide chaque jour du séjour", !f.compulsory_coverage_required.is_empty()),
        Field::text("complementary_care_modes", "Complémentaire exigée pour les séjours en", &f.complementary_care_modes).checkboxes(CARE_MODES),
        Field::checkbox("pec_required", "Prise en charge accordée par la complémentaire", !f.pec_required.is_empty()),
        Field::text("pec_answer_days", "Alerte : demande de prise en charge sans réponse après (jours)", &f.pec_answer_days).required(),
        Field::checkbox("documents_required", "Justificatifs exigés par le plan de classement", !f.documents_required.is_empty()),
        Field::hidden("version", &f.version),
    ];
    Ok(FormPage {
        chrome: ctx.chrome("Règles de facturation").await,
        heading: format!("Éléments déclencheurs de la facturation — {}", e.name),
        intro: Some("Ces contrôles décident si un dossier est prêt à facturer ; chaque contrôle décoché n'apparaît plus dans les listes « Dossiers en attente ».".into()),
        action: format!("/admin/etablissements/{est}/regles-facturation"),
        fields: with_errors(fields, errors),
        submit: "Enregistrer les règles".into(),
        cancel: Some(format!("/admin/etablissements/{est}")),
        error_count: errors.0.len(),
    }
    .response(if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY }))
}

pub async fn page(ctx: Ctx, Path(est): Path<i64>) -> PageResult {
    ctx.actor().require(&ctx.state.db, Permission::ManageEstablishments, Scope::Establishment(est), "readiness_rules", "form").await?;
    let rules = readiness::current_rules(&ctx.state.db, est).await?;
    let f = RulesForm { version: readiness::rules_version(&ctx.state.db, est).await?.to_string(), ..RulesForm::from_rules(&rules) };
    form(&ctx, est, &f, &FieldErrors::new()).await
}

pub async fn save(Path(est): Path<i64>, CsrfForm(ctx, f): CsrfForm<RulesForm>) -> PageResult {
    match f.parse() {
        Ok(r) => {
            match readiness::save_rules_at(&ctx.state.db, ctx.actor(), est, f.version.trim().parse().unwrap_or(-1), &r).await {
                Ok(()) => Ok(see_other(&format!("/admin/etablissements/{est}/regles-facturation"), "modifie")),
                // Stale: the form again, as typed, with the message and the current version.
                Err(quittance_store::Error::Conflict(m)) => {
                    let f = RulesForm { version: readiness::rules_version(&ctx.state.db, est).await?.to_string(), ..f };
                    let mut errors = FieldErrors::new();
                    errors.add("version", m);
                    form(&ctx, est, &f, &errors).await
                }
                Err(e) => Err(e.into()),
            }
        }
        Err(e) => form(&ctx, est, &f, &e).await,
    }
}
