"""Write an :class:`~trialdesk.adapters.odm.model.OdmDocument` as CDISC ODM 1.3.2 XML with lxml.

Why lxml and not odmlib: the document is built element by element in the order the ODM 1.3.2 schema
requires, and the same library checks it against that schema (``lxml.etree.XMLSchema``), so one
maintained C-backed library does both; odmlib's object model would add a second representation of
every element and still need lxml (or xmlschema) to validate. odmlib serves the tests as the second,
independent reader.

Element order follows the schema's sequences (ODM1-3-2-foundation.xsd); every document written is
validated before it is returned (:func:`trialdesk.adapters.odm.validation.check`), so an invalid
document is never handed out.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from lxml import etree

from trialdesk.adapters.odm import model
from trialdesk.adapters.odm.validation import InvalidOdm, check

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
LANG = "en"


def _q(tag: str) -> str:
    return f"{{{ODM_NS}}}{tag}"


def _sub(parent: Any, tag: str, text: str | None = None, **attributes: str | None) -> Any:
    element = etree.SubElement(parent, _q(tag), {k: v for k, v in attributes.items() if v is not None})
    if text is not None:
        element.text = text
    return element


def _yes_no(flag: bool) -> str:
    return "Yes" if flag else "No"


def _translated(parent: Any, tag: str, text: str) -> None:
    holder = _sub(parent, tag)
    _sub(holder, "TranslatedText", text).set(XML_LANG, LANG)


def _datetime(moment: dt.datetime) -> str:
    aware = moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
    return aware.isoformat(timespec="seconds")


def _number(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e15 else repr(value)


def _global_variables(study: Any, meta: model.StudyMetadata) -> None:
    variables = _sub(study, "GlobalVariables")
    _sub(variables, "StudyName", meta.study_name)
    _sub(variables, "StudyDescription", meta.description)
    _sub(variables, "ProtocolName", meta.protocol_name)
    if meta.units:
        basic = _sub(study, "BasicDefinitions")
        for unit in meta.units:
            element = _sub(basic, "MeasurementUnit", OID=unit.oid, Name=unit.symbol)
            _translated(element, "Symbol", unit.symbol)


def _event_defs(mdv: Any, meta: model.StudyMetadata) -> None:
    for event in meta.events:
        element = _sub(
            mdv,
            "StudyEventDef",
            OID=event.oid,
            Name=event.name,
            Repeating=_yes_no(event.repeating),
            Type=event.type,
            Category=event.category,
        )
        for order, form_oid in enumerate(event.forms, start=1):
            _sub(element, "FormRef", FormOID=form_oid, Mandatory="No", OrderNumber=str(order))
    for form in meta.forms:
        element = _sub(mdv, "FormDef", OID=form.oid, Name=form.name, Repeating=_yes_no(form.repeating))
        for order, group_oid in enumerate(form.item_groups, start=1):
            _sub(element, "ItemGroupRef", ItemGroupOID=group_oid, Mandatory="Yes", OrderNumber=str(order))


def _item_group_defs(mdv: Any, meta: model.StudyMetadata) -> None:
    for group in meta.item_groups:
        element = _sub(
            mdv,
            "ItemGroupDef",
            OID=group.oid,
            Name=group.name,
            Repeating=_yes_no(group.repeating),
            Domain=group.domain,
        )
        for order, (item_oid, mandatory) in enumerate(group.items, start=1):
            _sub(element, "ItemRef", ItemOID=item_oid, Mandatory=_yes_no(mandatory), OrderNumber=str(order))


def _range_check(element: Any, item: model.ItemDef) -> None:
    check_ = item.range_check
    if check_ is None:
        return
    for comparator, bound in (("GE", check_.minimum), ("LE", check_.maximum)):
        if bound is None:
            continue
        range_element = _sub(element, "RangeCheck", Comparator=comparator, SoftHard="Soft")
        _sub(range_element, "CheckValue", _number(bound))
        if item.unit_oid is not None:
            _sub(range_element, "MeasurementUnitRef", MeasurementUnitOID=item.unit_oid)


def _item_defs(mdv: Any, meta: model.StudyMetadata) -> None:
    for item in meta.items:
        length = str(item.length) if item.length is not None else None
        element = _sub(
            mdv,
            "ItemDef",
            OID=item.oid,
            Name=item.name,
            DataType=item.data_type,
            Length=length,
            Origin=item.origin,
        )
        _translated(element, "Question", item.question)
        if item.unit_oid is not None:
            _sub(element, "MeasurementUnitRef", MeasurementUnitOID=item.unit_oid)
        _range_check(element, item)
        if item.codelist_oid is not None:
            _sub(element, "CodeListRef", CodeListOID=item.codelist_oid)
    for codelist in meta.codelists:
        element = _sub(mdv, "CodeList", OID=codelist.oid, Name=codelist.name, DataType="text")
        for order, (code, label) in enumerate(codelist.items, start=1):
            entry = _sub(element, "CodeListItem", CodedValue=code, OrderNumber=str(order))
            _translated(entry, "Decode", label)


def _study(root: Any, meta: model.StudyMetadata) -> None:
    study = _sub(root, "Study", OID=meta.study_oid)
    _global_variables(study, meta)
    mdv = _sub(study, "MetaDataVersion", OID=meta.mdv_oid, Name=meta.mdv_name)
    _event_defs(mdv, meta)
    _item_group_defs(mdv, meta)
    _item_defs(mdv, meta)


def _admin(root: Any, document: model.OdmDocument) -> None:
    if not document.users and not document.locations and not document.signature_defs:
        return
    admin = _sub(root, "AdminData", StudyOID=document.metadata.study_oid)
    for user in document.users:
        element = _sub(admin, "User", OID=user.oid)
        _sub(element, "LoginName", user.login)
        if user.full_name:
            _sub(element, "FullName", user.full_name)
    effective = document.created.date().isoformat()
    for location in document.locations:
        element = _sub(admin, "Location", OID=location.oid, Name=location.name, LocationType="Site")
        _sub(
            element,
            "MetaDataVersionRef",
            StudyOID=document.metadata.study_oid,
            MetaDataVersionOID=document.metadata.mdv_oid,
            EffectiveDate=effective,
        )
    for definition in document.signature_defs:
        element = _sub(admin, "SignatureDef", OID=definition.oid, Methodology="Electronic")
        _sub(element, "Meaning", definition.meaning)
        _sub(element, "LegalReason", definition.legal_reason)


def _audit(parent: Any, audit: model.Audit) -> None:
    element = _sub(parent, "AuditRecord")
    _sub(element, "UserRef", UserOID=audit.user_oid)
    _sub(element, "LocationRef", LocationOID=audit.location_oid)
    _sub(element, "DateTimeStamp", _datetime(audit.at))
    if audit.reason:
        _sub(element, "ReasonForChange", audit.reason)
    _sub(element, "SourceID", audit.source_id)


def _annotations(parent: Any, annotations: tuple[model.Annotation, ...]) -> None:
    for annotation in annotations:
        element = _sub(parent, "Annotation", SeqNum=str(annotation.seq), ID=annotation.id)
        if annotation.comment is not None:
            try:
                _sub(element, "Comment", annotation.comment, SponsorOrSite=annotation.comment_by)
            except ValueError:  # a control character or NUL: XML 1.0 cannot carry it
                raise InvalidOdm(
                    [f"{annotation.id}: the comment holds a character XML 1.0 cannot carry"]
                ) from None
        for flag in annotation.flags:
            flag_element = _sub(element, "Flag")
            _sub(flag_element, "FlagValue", flag.value, CodeListOID=flag.value_codelist_oid)
            if flag.type is not None:
                _sub(flag_element, "FlagType", flag.type, CodeListOID=flag.type_codelist_oid)


def _item(parent: Any, item: model.ItemValue) -> None:
    element = _sub(parent, "ItemData", ItemOID=item.item_oid, TransactionType=item.transaction)
    if item.value is None:
        element.set("IsNull", "Yes")
    else:
        try:
            element.set("Value", item.value)
        except ValueError:  # a control character or NUL: XML 1.0 cannot carry it
            raise InvalidOdm([f"{item.item_oid}: the value holds a character XML 1.0 cannot carry"]) from None
    if item.audit is not None:
        _audit(element, item.audit)
    if item.unit_oid is not None and item.value is not None:
        _sub(element, "MeasurementUnitRef", MeasurementUnitOID=item.unit_oid)
    _annotations(element, item.annotations)


def _subject(clinical: Any, subject: model.SubjectData) -> None:
    element = _sub(clinical, "SubjectData", SubjectKey=subject.subject_key)
    if subject.signature is not None:  # ODM order: AuditRecord?, Signature?, InvestigatorRef?, SiteRef?
        signature = _sub(element, "Signature", ID=subject.signature.id)
        _sub(signature, "UserRef", UserOID=subject.signature.user_oid)
        _sub(signature, "LocationRef", LocationOID=subject.signature.location_oid)
        _sub(signature, "SignatureRef", SignatureOID=subject.signature.signature_oid)
        _sub(signature, "DateTimeStamp", _datetime(subject.signature.at))
    _sub(element, "SiteRef", LocationOID=subject.site_oid)
    _annotations(element, subject.annotations)
    for event in subject.events:
        event_element = _sub(
            element, "StudyEventData", StudyEventOID=event.event_oid, StudyEventRepeatKey=event.repeat_key
        )
        for form in event.forms:
            form_element = _sub(
                event_element, "FormData", FormOID=form.form_oid, FormRepeatKey=form.repeat_key
            )
            for group in form.item_groups:
                group_element = _sub(
                    form_element,
                    "ItemGroupData",
                    ItemGroupOID=group.item_group_oid,
                    ItemGroupRepeatKey=group.repeat_key,
                )
                _annotations(group_element, group.annotations)
                for item in group.items:
                    _item(group_element, item)


def to_xml(document: model.OdmDocument) -> bytes:
    """The document as UTF-8 ODM 1.3.2 XML, checked against the ODM 1.3.2 schema
    (:class:`~trialdesk.adapters.odm.validation.InvalidOdm` if it does not validate)."""
    root = etree.Element(
        _q("ODM"),
        nsmap={None: ODM_NS},
        attrib={
            "FileType": "Transactional" if document.transactional else "Snapshot",
            "Granularity": document.granularity,
            "FileOID": document.file_oid,
            "CreationDateTime": _datetime(document.created),
            "ODMVersion": "1.3.2",
            "Originator": "trialdesk",
            "SourceSystem": "trialdesk",
            "Description": document.description,
        },
    )
    if document.as_of is not None:
        root.set("AsOfDateTime", _datetime(document.as_of))
    if document.source_system_version is not None:
        root.set("SourceSystemVersion", document.source_system_version)
    _study(root, document.metadata)
    _admin(root, document)
    clinical = _sub(
        root,
        "ClinicalData",
        StudyOID=document.metadata.study_oid,
        MetaDataVersionOID=document.metadata.mdv_oid,
    )
    for subject in document.subjects:
        _subject(clinical, subject)
    tree = etree.ElementTree(root)
    check(tree)
    content: bytes = etree.tostring(tree, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return content
