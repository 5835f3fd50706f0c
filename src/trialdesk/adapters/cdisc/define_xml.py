"""Define-XML 2.1 of an SDTM or ADaM package, generated with lxml.

One ``ItemGroupDef`` per dataset (purpose Tabulation or Analysis, class, structure, keys, the file as
``def:leaf``, the dataset's comment as ``def:CommentDef``), one ``ItemDef`` per variable (label,
data type, length for text and numbers, ``def:Origin`` collected / derived / assigned / protocol /
predecessor with its source, ``CodeListRef``), a ``MethodDef`` with the derivation text of each
derived variable, and a ``CodeList`` per codelist used, each term with its NCI C-code as
``Alias Context="nci:ExtCodeID"``. SDTM ``--DTC`` variables are ISO 8601 dates (``date``); ADaM
numeric dates are ``integer`` with display format DATE9. Element order follows the Define-XML 2.1
schema (checked against it in the tests).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from trialdesk.adapters.cdisc.terminology import Terminology
from trialdesk.analysis.cdisc.model import Dataset, Variable

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
DEF_NS = "http://www.cdisc.org/ns/def/v2.1"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
STANDARDS = {"SDTM": ("SDTMIG", "3.4", "Tabulation"), "ADaM": ("ADaMIG", "1.3", "Analysis")}
"""Package kind -> (standard name, version, ItemGroupDef Purpose)."""


def _odm(tag: str) -> str:
    return f"{{{ODM_NS}}}{tag}"


def _def(tag: str) -> str:
    return f"{{{DEF_NS}}}{tag}"


def data_type(dataset: Dataset, var: Variable) -> str:
    """Define-XML DataType: ``date`` for SDTM --DTC text, ``integer`` for ADaM numeric dates."""
    if var.type == "text":
        return "date" if dataset.kind == "SDTM" and var.name.endswith("DTC") else "text"
    return {"integer": "integer", "float": "float", "date": "integer"}[var.type]


def _item_oid(dataset: Dataset, var: Variable) -> str:
    return f"IT.{dataset.name}.{var.name}"


@dataclass(frozen=True)
class DefineContext:
    """What the document says about the package: kind (SDTM or ADaM), study, terminology, the file of
    each dataset, creation time and the product's version."""

    kind: str
    study_id: str
    study_title: str
    terminology: Terminology
    file_names: dict[str, str]
    created: dt.datetime
    source_version: str


def _text(parent: Any, tag: str, text: str) -> Any:
    from lxml import etree

    element = etree.SubElement(parent, tag)
    translated = etree.SubElement(element, _odm("TranslatedText"))
    translated.set(XML_LANG, "en")
    translated.text = text
    return element


def _root(context: DefineContext) -> tuple[Any, Any]:
    from lxml import etree

    standard, version, _ = STANDARDS[context.kind]
    root = etree.Element(_odm("ODM"), nsmap={None: ODM_NS, "def": DEF_NS, "xlink": XLINK_NS})
    attributes = {
        "FileType": "Snapshot",
        "FileOID": f"DEF.{context.study_id}.{context.kind}",
        "ODMVersion": "1.3.2",
        "CreationDateTime": context.created.replace(microsecond=0).isoformat(),
        "Originator": "trialdesk",
        "SourceSystem": "trialdesk",
        "SourceSystemVersion": context.source_version,
        _def("Context"): "Submission",
    }
    for name, value in attributes.items():
        root.set(name, value)
    study = etree.SubElement(root, _odm("Study"), OID=f"STDY.{context.study_id}")
    glob = etree.SubElement(study, _odm("GlobalVariables"))
    etree.SubElement(glob, _odm("StudyName")).text = context.study_id
    etree.SubElement(glob, _odm("StudyDescription")).text = context.study_title
    etree.SubElement(glob, _odm("ProtocolName")).text = context.study_id
    mdv = etree.SubElement(
        study,
        _odm("MetaDataVersion"),
        OID=f"MDV.{context.kind}",
        Name=f"{context.study_id} {context.kind}",
        Description=f"{context.kind} datasets of {context.study_id}",
    )
    mdv.set(_def("DefineVersion"), "2.1.0")
    standards = etree.SubElement(mdv, _def("Standards"))
    etree.SubElement(
        standards,
        _def("Standard"),
        OID=f"STD.{standard}",
        Name=standard,
        Type="IG",
        Version=version,
        Status="Final",
    )
    etree.SubElement(
        standards,
        _def("Standard"),
        OID="STD.CT",
        Name="CDISC/NCI",
        Type="CT",
        PublishingSet="SDTM",
        Version=context.terminology.checked_on,
        Status="Final",
    )
    return root, mdv


def _item_group(mdv: Any, dataset: Dataset, context: DefineContext) -> None:
    from lxml import etree

    standard, _, purpose = STANDARDS[context.kind]
    group = etree.SubElement(
        mdv,
        _odm("ItemGroupDef"),
        OID=f"IG.{dataset.name}",
        Name=dataset.name,
        Repeating="No" if dataset.name in ("DM", "ADSL") else "Yes",
        IsReferenceData="Yes" if dataset.dataset_class == "TRIAL DESIGN" else "No",
        SASDatasetName=dataset.name,
        Purpose=purpose,
    )
    if context.kind == "SDTM" and not dataset.name.startswith("SUPP"):
        group.set("Domain", dataset.name)
    group.set(_def("Structure"), dataset.structure)
    group.set(_def("StandardOID"), f"STD.{standard}")
    group.set(_def("ArchiveLocationID"), f"LF.{dataset.name}")
    if dataset.comment:
        group.set(_def("CommentOID"), f"COM.{dataset.name}")
    _text(group, _odm("Description"), dataset.label)
    for order, var in enumerate(dataset.variables, start=1):
        ref = etree.SubElement(
            group,
            _odm("ItemRef"),
            ItemOID=_item_oid(dataset, var),
            OrderNumber=str(order),
            Mandatory="Yes" if var.required else "No",
        )
        if var.name in dataset.keys:
            ref.set("KeySequence", str(dataset.keys.index(var.name) + 1))
        if var.origin == "Derived":
            ref.set("MethodOID", f"MT.{dataset.name}.{var.name}")
    etree.SubElement(group, _def("Class"), Name=dataset.dataset_class)
    leaf = etree.SubElement(group, _def("leaf"), ID=f"LF.{dataset.name}")
    leaf.set(f"{{{XLINK_NS}}}href", context.file_names[dataset.name])
    etree.SubElement(leaf, _def("title")).text = context.file_names[dataset.name]


def _item_def(mdv: Any, dataset: Dataset, var: Variable) -> None:
    from lxml import etree

    kind = data_type(dataset, var)
    item = etree.SubElement(
        mdv, _odm("ItemDef"), OID=_item_oid(dataset, var), Name=var.name, DataType=kind, SASFieldName=var.name
    )
    if kind in ("text", "integer", "float"):
        item.set("Length", str(dataset.length(var)))
    if var.type == "date":
        item.set(_def("DisplayFormat"), "DATE9.")
    _text(item, _odm("Description"), var.label)
    if var.codelist:
        etree.SubElement(item, _odm("CodeListRef"), CodeListOID=f"CL.{var.codelist}")
    origin = etree.SubElement(item, _def("Origin"), Type=var.origin)
    if var.origin == "Collected":
        origin.set("Source", "Investigator")
    detail = var.source or (f"{var.name} of the source dataset" if var.origin == "Predecessor" else None)
    if detail:
        _text(origin, _odm("Description"), detail)


def _codelist(mdv: Any, cid: str, terminology: Terminology) -> None:
    from lxml import etree

    codelist = terminology.codelists[cid]
    if not codelist.terms:
        raise ValueError(f"codelist {cid} has no terms (Define-XML needs at least one)")
    element = etree.SubElement(mdv, _odm("CodeList"), OID=f"CL.{cid}", Name=codelist.name, DataType="text")
    if codelist.c_code:
        element.set(_def("StandardOID"), "STD.CT")
    for order, (term, code) in enumerate(sorted(codelist.terms.items()), start=1):
        enumerated = etree.SubElement(
            element, _odm("EnumeratedItem"), CodedValue=term, OrderNumber=str(order)
        )
        if code:
            etree.SubElement(enumerated, _odm("Alias"), Context="nci:ExtCodeID", Name=code)
        elif codelist.c_code:
            enumerated.set(_def("ExtendedValue"), "Yes")
    if codelist.c_code:
        etree.SubElement(element, _odm("Alias"), Context="nci:ExtCodeID", Name=codelist.c_code)


def define_xml(datasets: Sequence[Dataset], context: DefineContext) -> bytes:
    """Define-XML 2.1 bytes describing ``datasets`` (all of ``context.kind``) and their files."""
    from lxml import etree

    root, mdv = _root(context)
    for dataset in datasets:
        _item_group(mdv, dataset, context)
    used: list[str] = []
    for dataset in datasets:
        for var in dataset.variables:
            _item_def(mdv, dataset, var)
            if var.codelist and var.codelist not in used:
                used.append(var.codelist)
    for cid in used:
        _codelist(mdv, cid, context.terminology)
    for dataset in datasets:
        for var in dataset.variables:
            if var.origin == "Derived":
                method = etree.SubElement(
                    mdv,
                    _odm("MethodDef"),
                    OID=f"MT.{dataset.name}.{var.name}",
                    Name=f"Derivation of {dataset.name}.{var.name}",
                    Type="Computation",
                )
                _text(method, _odm("Description"), var.method or var.source or "Derived by the product")
    for dataset in datasets:
        if dataset.comment:
            _text(
                etree.SubElement(mdv, _def("CommentDef"), OID=f"COM.{dataset.name}"),
                _odm("Description"),
                dataset.comment,
            )
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
