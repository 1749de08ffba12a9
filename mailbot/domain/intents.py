"""What a person's mail to the program asks for: a command, an FAQ topic, a question for a
coordinator, or nothing to answer — read as people write it, in English, French and Spanish.

Decides, in this order:
1. A command keyword (`commands.parse_command`: "PAUSE 2 weeks", "RETIRER", "NUEVA PAREJA")
   is a command. A PAUSE keyword that names no duration takes the one the person's own text
   gives ("Subject: Pause" + "until March 15" → until March 15, not 14 days); an "until"
   whose date cannot be read is a question for a coordinator, never a silent 14-day pause.
2. Otherwise the person's own words — the Subject unless it is a reply or a forward, and the
   body up to quoted text, an attribution line or the signature (at most `_MAX_LINES` lines)
   — are cut into sentences (the first `_MAX_SENTENCES`: "a.a.a…" is not 2,000 sentences to
   match), and each sentence is matched against `PHRASES`, one table per language read top
   to bottom: the first row that matches decides for that sentence.
   Questions *about* a command ("how do I pause?", "¿es posible cambiar de pareja?") come
   before the commands in each table, so they are FAQ, not the command.
3. A command row acts only on a request or a statement made by the writer ("please pause me",
   "je dois quitter le programme"), never on a mention ("my partner paused her reply"): the
   rows name the first person; a negation before the verb ("I don't want to leave the
   program"), a condition ("if I leave the program…") or a question about the past ("why did
   you pause me?") turns the command off for that sentence.
4. Across sentences: one command wins over FAQ topics; IN TOUCH / SILENT (signals) give way to
   any other command ("my partner has not answered. Could I have a new partner?" is REMATCH);
   two different commands are a question for a person ("pause me, or maybe I should leave").
   A command read from a sentence is marked `Command.sentence`; WITHDRAW and DELETE MY DATA
   read so need a confirmation (`commands.needs_confirmation`).
5. No command and no FAQ: a survey answer or only thanks/OK/greetings is NONE (nothing to
   answer); anything else a person wrote is QUESTION.

Every pattern is a regular expression over folded text (lower case, no accents, apostrophes
kept, other punctuation → spaces) with bounded gaps only, so a sentence is read in linear time.
No model, no dictionary: what is not in the tables is a question for a person.

Must not: do I/O or read the clock.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, replace
from datetime import date

from mailbot.domain import commands, survey
from mailbot.domain.model import Command, CommandName, FaqTopic
from mailbot.domain.textutil import fold, own_lines

_MAX_LINES = 40
_MAX_CHARS = 4000
_MAX_SENTENCE = 400
_MAX_SENTENCES = 60


class IntentKind(enum.StrEnum):
    COMMAND = "command"
    FAQ = "faq"
    QUESTION = "question"  # a person's words no row understands: for a coordinator
    NONE = "none"  # nothing of their own, thanks only, or a survey answer


@dataclass(frozen=True)
class Intent:
    kind: IntentKind
    command: Command | None = None
    faq: FaqTopic | None = None
    lang: str | None = None  # "en" | "fr" | "es" when the words tell, else None
    text: str = ""  # the sentence (or line) it was read from; the own text for a QUESTION


C = CommandName
F = FaqTopic
Target = CommandName | FaqTopic
_SIGNALS = frozenset({C.IN_TOUCH, C.SILENT})
_ASKING = frozenset({C.STATUS, C.HELP})  # asking what is known changes nothing: always read


@dataclass(frozen=True)
class Row:
    pattern: re.Pattern[str]
    target: Target
    negation_ok: bool = False  # the negation is the meaning ("I can no longer take part")


def _rows(*rows: tuple[str, Target] | tuple[str, Target, bool]) -> tuple[Row, ...]:
    gap = r"(?:[\w']+ ){0,3}"  # up to three words, each followed by one space
    return tuple(
        Row(re.compile(r[0].replace("{g}", gap)), r[1], bool(r[2]) if len(r) > 2 else False)
        for r in rows
    )


# ------------------------------------------------------------------------------- the tables
# Each table is read top to bottom; the first row that matches a sentence decides for it.
_EN_LEAVE_OBJ = r"(?:the |this |your |our )?(?:program(?:me)?|round|network|mentoring|scheme|iln)"
_EN_WANT = (
    r"(?:have|need|want|wish|must|would like|'d like|would have|will have|decided|am going"
    r"|'m going|are going|got|would prefer|prefer|plan)"
)
_EN_PARTNER = r"(?:partner|match|mentor|mentee|pair)"
_EN_NEW = r"(?:a )?(?:new|another|different|other)"

EN = _rows(
    # questions about how things work: FAQ
    (r"\bhow (?:do|can|could|should|would|does) (?:i|we|one|someone) {g}(?:pause|take a break"
     r"|put {g}on hold|suspend|take time off)", F.PAUSE),
    (r"\b(?:is (?:it|there)|would it be) (?:possible|a way|ok) to {g}(?:pause|take a break"
     r"|suspend|put {g}on hold)", F.PAUSE),
    (rf"\bhow (?:do|can|could|should|would|does) (?:i|we|one|someone) {{g}}(?:change|switch"
     rf"|swap|get|have|ask for|request) {_EN_NEW} {{g}}{_EN_PARTNER}", F.CHANGE_PARTNER),
    (rf"\bhow (?:do|can|could|should|would|does) (?:i|we|one|someone) {{g}}(?:change|switch"
     rf"|swap) {{g}}{_EN_PARTNER}", F.CHANGE_PARTNER),
    (rf"\b(?:is (?:it|there)|would it be) (?:possible|a way|any way|ok|allowed) to {{g}}"
     rf"(?:change|switch|swap|get|have) {{g}}{_EN_PARTNER}", F.CHANGE_PARTNER),
    (r"\bcan (?:one|people|participants|you) (?:change|switch|swap) {g}partners?\b",
     F.CHANGE_PARTNER),
    (r"\bhow (?:do|can|could|should|would|does) (?:i|we|one|someone) {g}(?:leave|withdraw"
     r"|quit|unsubscribe|drop out|opt out|stop (?:participating|taking part))", F.LEAVE),
    (r"\b(?:is (?:it|there)|would it be) (?:possible|a way|ok) to {g}(?:leave|withdraw|quit"
     r"|unsubscribe|drop out)", F.LEAVE),
    (r"\bwhat happens if (?:i|we) {g}(?:leave|withdraw|quit|drop out)", F.LEAVE),
    (r"\bwho (?:is|was|'s) my (?:partner|match|mentor|mentee)\b", F.WHO_IS_MY_PARTNER),
    (r"\bwho my (?:partner|match|mentor|mentee) (?:is|was)\b", F.WHO_IS_MY_PARTNER),
    (r"\b(?:forgot|forgotten|lost|deleted|don't know|do not know|can't remember|cannot "
     r"remember) {g}(?:who|name of|the name of) {g}(?:partner|match)", F.WHO_IS_MY_PARTNER),
    (r"\bmy (?:partner|match)'?s (?:name|address|e ?mail|email address)\b", F.WHO_IS_MY_PARTNER),
    (r"\bhow (?:do|can|could|should|would|does) (?:i|we|one|someone|a colleague|my colleague"
     r"|colleagues|people|others) {g}(?:apply|join|sign up|register|enrol|enroll|take part"
     r"|participate|get involved)", F.APPLY),
    (r"\bwhere {g}(?:find|get|is|are|download) {g}(?:the |an |your )?(?:application |"
     r"registration |sign ?up )?form\b", F.APPLY),
    (r"\b(?:application|registration|sign ?up|enrol(?:l)?ment) form\b", F.APPLY),
    (r"\b(?:could|can|may) (?:a|my|our) (?:colleague|friend|coworker|co worker)s? {g}"
     r"(?:join|apply|take part|participate|sign up)", F.APPLY),
    (r"\b(?:did not|didn't|haven't|have not|never|not) (?:get|got|receive|received|see|seen)"
     r" {g}topics?\b", F.TOPIC),
    (r"\bwhen {g}(?:next|new|first|following) topic", F.TOPIC),
    (r"\b(?:missing|missed|lost|deleted) {g}topics?\b", F.TOPIC),
    (r"\b(?:resend|re send|send {g}again|forward) {g}topics?\b", F.TOPIC),
    (r"\btopics? {g}(?:again|resend|missing|did not arrive|didn't arrive|never arrived)",
     F.TOPIC),
    (r"\bwhat (?:is|was) (?:the|this|our) (?:week|fortnight|month)'?s? topic", F.TOPIC),
    (r"\bhow (?:often|frequently|many times|regularly)\b", F.HOW_OFTEN),
    (r"\b(?:is|would) once a (?:month|week) (?:be )?(?:ok|okay|enough|fine)", F.HOW_OFTEN),
    # commands: the writer asks for, or says, it
    (r"\b(?:delete|erase|remove|wipe|destroy) (?:all )?(?:of )?my (?:personal )?(?:data|"
     r"information|details|info|record)", C.DELETE_MY_DATA),
    (r"\b(?:i|we) (?:can no longer|can't|cannot|can not|am not able to|'m not able to|am no "
     r"longer able to|won't be able to|will not be able to|am unable to|'m unable to) "
     rf"(?:continue|take part|participate|stay|carry on)(?:(?: in)? {_EN_LEAVE_OBJ}| anymore"
     r"| any more| any longer)? $",
     C.WITHDRAW, True),
    (rf"\b(?:i|we) {{g}}{_EN_WANT} to (?:leave|quit|exit|stop participating in|stop taking "
     rf"part in|drop out of|pull out of|step out of|step back from|step down from) "
     rf"{_EN_LEAVE_OBJ}", C.WITHDRAW),
    (rf"\b(?:i|we) {{g}}{_EN_WANT} to (?:withdraw|drop out|unsubscribe|opt out|pull out"
     r"|step down)\b", C.WITHDRAW),
    (rf"\b(?:i'm|i am|we're|we are) (?:withdrawing|leaving|quitting|dropping out|pulling out)"
     rf"(?: (?:from|of))? {_EN_LEAVE_OBJ}", C.WITHDRAW),
    (r"\b(?:i'm|i am|we're|we are) (?:withdrawing|dropping out|pulling out)\b", C.WITHDRAW),
    (r"\b(?:remove|unsubscribe|withdraw|take|drop) (?:me|us) (?:from|off|out of)\b", C.WITHDRAW),
    (r"\b(?:please |can you |could you |would you )?(?:pause|suspend|freeze) (?:me|us|my "
     r"(?:participation|membership|account|partnership|pairing|pair)|our (?:pair|partnership|"
     r"participation|pairing))\b", C.PAUSE),
    (r"\bput (?:me|us|my participation|my membership|our pair|our partnership) on hold",
     C.PAUSE),
    (rf"\b(?:i|we) {{g}}{_EN_WANT} to (?:pause|take a (?:short |little |small )?break|take "
     r"(?:some )?time off|step away for|be paused|put (?:my|our) participation on hold)",
     C.PAUSE),
    (r"\b(?:can|could|may) (?:i|we) (?:please )?(?:pause|take a (?:short |little |small )?"
     r"break|be paused)", C.PAUSE),
    (r"\b(?:i'm|i am|we're|we are) (?:taking|going to take|about to take) a (?:short |little"
     r" |small )?break", C.PAUSE),
    (r"\b(?:we are|we're|we have been|we've been|we stay|we keep|we remain|we're still|we are"
     r" still) (?:still |back |regularly |well |definitely )?in (?:touch|contact)\b",
     C.IN_TOUCH),
    (r"\bwe (?:are|'re) (?:talking|writing|corresponding|emailing|meeting|chatting)\b",
     C.IN_TOUCH),
    (r"\bwe (?:talk|write|speak|chat|meet|email) (?:on|via|by|over|every|regularly|weekly|"
     r"often|each)\b", C.IN_TOUCH),
    (r"\bwe (?:had|have had) (?:a |our )?(?:video |phone |zoom |skype |first |second )?(?:call"
     r"|meeting|chat|conversation)\b", C.IN_TOUCH),
    (r"\b(?:i'm|i am|we're|we are) back\b(?! (?:in|from work|at work|to work))", C.RESUME),
    (r"\b(?:i|we) {g}(?:want|would like|'d like|am ready|'m ready|are ready|can) to (?:resume|"
     r"restart|start again|come back|rejoin|be active again)", C.RESUME),
    (r"\b(?:please )?(?:resume|unpause|reactivate|restart) (?:me|us|my (?:participation|"
     r"membership|account))\b", C.RESUME),
    (r"\b(?:end|cancel|stop|lift) (?:my|our) pause\b", C.RESUME),
    (rf"\b(?:can|could|may) (?:i|we) (?:please )?(?:have|get|be given|be assigned|receive|"
     rf"request|ask for) {_EN_NEW} {_EN_PARTNER}", C.REMATCH),
    (rf"\b(?:i|we) {{g}}(?:want|need|would like|'d like|wish|would prefer|prefer|ask for|"
     rf"request) {{g}}{_EN_NEW} {_EN_PARTNER}", C.REMATCH),
    (rf"\b(?:i|we) {{g}}(?:want|need|would like|'d like|wish) to (?:change|switch|swap) "
     rf"(?:my |our )?{_EN_PARTNER}", C.REMATCH),
    (rf"\b(?:can|could|may) (?:i|we) (?:please )?(?:change|switch|swap) (?:my |our )?"
     rf"{_EN_PARTNER}", C.REMATCH),
    (r"\b(?:please )?(?:rematch|re match) (?:me|us)\b", C.REMATCH),
    (rf"\b(?:give|find|assign|match) (?:me|us) (?:with )?{_EN_NEW} {_EN_PARTNER}", C.REMATCH),
    (r"\bmy (?:partner|match) (?:has not|hasn't|has never|never|does not|doesn't|did not|didn't"
     r"|is not|isn't) (?:answered|replied|responded|written|answer|reply|respond|write|"
     r"responding|answering|replying|writing)", C.SILENT, True),
    (r"\b(?:no|not a) (?:word|reply|answer|response|news) from my (?:partner|match)",
     C.SILENT, True),
    (r"\bwhat(?: is|'s) my status\b", C.STATUS),
    (r"\bam i (?:still )?(?:registered|enrolled|signed up|in the program|matched|paired)",
     C.STATUS),
    (r"\b(?:did|have) you (?:get|got|receive|received) my (?:application|form)", C.STATUS),
    (r"\bwhat commands\b", C.HELP),
    (r"\b(?:i|we) {g}(?:want|would like|'d like|wish|plan|hope|intend) to (?:join|take part in"
     r"|participate in|be in|sign up for|continue (?:in|with|into)|be part of) (?:the )?"
     r"(?:next|following|coming) round", C.CONTINUE),
    (r"\b(?:count|sign|put) (?:me|us) (?:in|up) for the (?:next|following|coming) round",
     C.CONTINUE),
)  # fmt: skip

_FR_OBJ = (
    r"(?:le |la |ce |cette |votre |du |de la |de ce |de cette |au )?(?:programme|session|reseau"
    r"|mentorat|parrainage|iln|participation|jumelage)"
)
_FR_WANT = (
    r"(?:dois|doit|devons|devrais|veux|voudrais|voulons|voudrions|souhaite|souhaiterais"
    r"|souhaitons|vais|allons|aimerais|aimerions|prefere|prefererais|suis oblige de|suis obligee"
    r" de|sommes obliges de|ai decide de|avons decide de|dois malheureusement|vais devoir)"
)
_FR_PARTNER = r"(?:partenaire|binome|mentor|mentore|jumelage)"
_FR_NEW = r"(?:un |une )?(?:autre|nouveau|nouvelle|nouvel|different|differente)"

FR = _rows(
    (r"\bcomment {g}(?:mettre|faire|prendre) {g}(?:en )?pause", F.PAUSE),
    (r"\bcomment {g}suspendre\b", F.PAUSE),
    (r"\b(?:est il|est ce|serait il) (?:possible|permis) de {g}(?:faire une pause|mettre {g}en "
     r"pause|suspendre|prendre une pause)", F.PAUSE),
    (r"\bpeut on {g}(?:faire une pause|mettre {g}en pause|suspendre)", F.PAUSE),
    (rf"\bcomment {{g}}(?:changer|avoir|obtenir|demander) {{g}}{_FR_PARTNER}", F.CHANGE_PARTNER),
    (rf"\b(?:est il|est ce|serait il) (?:possible|permis) de {{g}}(?:changer|avoir|obtenir) "
     rf"{{g}}{_FR_PARTNER}", F.CHANGE_PARTNER),
    (rf"\bpeut on {{g}}changer de {_FR_PARTNER}", F.CHANGE_PARTNER),
    (r"\bcomment {g}(?:quitter|retirer|desinscrire|arreter|abandonner|sortir)", F.LEAVE),
    (r"\b(?:est il|est ce|serait il) possible de {g}(?:quitter|retirer|desinscrire|arreter"
     r"|abandonner)", F.LEAVE),
    (r"\bque se passe t il si (?:je|nous|on) {g}(?:quitte|retire|arrete|abandonne)", F.LEAVE),
    (rf"\bqui est (?:mon|ma) {_FR_PARTNER}", F.WHO_IS_MY_PARTNER),
    (rf"\b(?:le )?nom de (?:mon|ma) {_FR_PARTNER}", F.WHO_IS_MY_PARTNER),
    (r"\bavec qui (?:suis je|je suis|sommes nous) {g}(?:jumele|jumelee|en binome|associe|"
     r"associee)", F.WHO_IS_MY_PARTNER),
    (r"\bcomment {g}(?:inscrire|me inscrire|se inscrire|participer|postuler|candidater|rejoindre"
     r"|adherer)", F.APPLY),
    (r"\bou {g}(?:trouver|trouve|est|obtenir|telecharger) {g}formulaire", F.APPLY),
    (r"\bformulaire (?:de inscription|de candidature|de adhesion|pour {g}(?:session|programme))",
     F.APPLY),
    (r"\b(?:un |une |mon |ma |nos |mes )?collegues? {g}(?:rejoindre|participer|se inscrire"
     r"|postuler|inscrire)", F.APPLY),
    (r"\b(?:pas|jamais) (?:recu|eu|vu) {g}sujets?\b", F.TOPIC),
    (r"\bquand {g}(?:prochain|nouveau|premier|suivant) sujet", F.TOPIC),
    (r"\b(?:renvoyer|renvoyez|renvoyer le|reenvoyer|retransmettre) {g}sujets?\b", F.TOPIC),
    (r"\bsujets? {g}(?:manquant|perdu|efface|pas arrive|renvoyer|renvoye)", F.TOPIC),
    (r"\b(?:a|a) quelle frequence\b", F.HOW_OFTEN),
    (r"\b(?:combien de fois|tous les combien|quel rythme|quelle regularite)\b", F.HOW_OFTEN),
    (r"\b(?:supprimer|supprimez|effacer|effacez|detruire) (?:toutes )?(?:mes|les) (?:donnees|"
     r"informations)(?! de mon partenaire)", C.DELETE_MY_DATA),
    (r"\b(?:je|nous) ne (?:peux|pouvons|pourrai|pourrons) plus (?:continuer|participer"
     rf"|rester)(?: (?:dans |a )?{_FR_OBJ})? $", C.WITHDRAW, True),
    (rf"\b(?:je|nous) {{g}}{_FR_WANT} (?:me |nous )?(?:quitter|arreter|abandonner|sortir de|"
     rf"retirer de|desinscrire de) {_FR_OBJ}", C.WITHDRAW),
    (rf"\b(?:je|nous) {{g}}{_FR_WANT} (?:me |nous )(?:retirer|desinscrire)\b", C.WITHDRAW),
    (rf"\b(?:je quitte|nous quittons|je abandonne|je me retire|nous nous retirons|je me "
     rf"desinscris|je laisse tomber) {_FR_OBJ}", C.WITHDRAW),
    (r"\b(?:je me retire|je me desinscris|nous nous retirons)\b", C.WITHDRAW),
    (r"\b(?:merci de|veuillez|pourriez vous|pouvez vous|pourrais tu) (?:me|nous) (?:retirer|"
     r"desinscrire)\b", C.WITHDRAW),
    (r"\b(?:retirez|desinscrivez) (?:moi|nous)\b", C.WITHDRAW),
    (r"\b(?:mettre|mettez|mets) (?:ma participation|moi|mon binome|notre binome|nous|notre "
     r"participation|mon inscription) en pause", C.PAUSE),
    (r"\b(?:me|nous) (?:mettre|mettez) en pause", C.PAUSE),
    (r"\b(?:mettre|mettez) {g}(?:participation|binome|inscription) en (?:pause|veille)",
     C.PAUSE),
    (rf"\b(?:je|nous) {{g}}{_FR_WANT} (?:faire|prendre) une (?:petite |courte )?pause",
     C.PAUSE),
    (rf"\b(?:je|nous) {{g}}{_FR_WANT} (?:me |nous )?(?:mettre|etre mis|etre mise|etre mises)"
     r" en pause", C.PAUSE),
    (r"\bsuspendre (?:ma|notre) participation", C.PAUSE),
    (r"\b(?:je fais|nous faisons|je prends|nous prenons) une (?:petite |courte )?pause",
     C.PAUSE),
    (r"\b(?:puis je|pourrais je|pouvons nous|pourrions nous) (?:faire|prendre) une (?:petite |"
     r"courte )?pause", C.PAUSE),
    (r"\b(?:nous sommes|on est|nous restons|nous avons ete|on reste|nous sommes toujours|"
     r"nous sommes bien) (?:bien |toujours )?en (?:contact|lien)\b", C.IN_TOUCH),
    (r"\bnous nous (?:ecrivons|parlons|sommes (?:appeles|ecrit|parle|vus|telephone)|"
     r"voyons|appelons)", C.IN_TOUCH),
    (r"\bon se (?:ecrit|appelle|est (?:appele|ecrit|parle))", C.IN_TOUCH),
    (r"\b(?:je suis|nous sommes|me voici|me voila) (?:de retour|rentre|rentree|rentres)\b",
     C.RESUME),
    (r"\b(?:je|nous) {g}(?:veux|voudrais|souhaite|souhaiterais|peux|aimerais|suis pret a|"
     r"suis prete a) (?:reprendre|recommencer|revenir)", C.RESUME),
    (r"\breprendre (?:ma|notre) participation", C.RESUME),
    (r"\b(?:fin de|mettre fin a|arreter) (?:ma|notre) pause", C.RESUME),
    (rf"\b(?:pourrais|puis|peux|pourrait|pourrions|pouvons|voudrais|veux|souhaite|souhaiterais|"
     rf"aimerais|serait il possible de)\b {{g}}(?:avoir|obtenir|recevoir) {_FR_NEW} "
     rf"{_FR_PARTNER}", C.REMATCH),
    (rf"\b(?:je|nous) {{g}}(?:veux|voudrais|souhaite|souhaiterais|aimerais|dois|voudrions) "
     rf"(?:changer de|un autre|une autre|un nouveau|une nouvelle) {_FR_PARTNER}", C.REMATCH),
    (rf"\b(?:puis je|pourrais je|peux je|pouvons nous|pourrions nous|je peux|je pourrais) "
     rf"changer de {_FR_PARTNER}", C.REMATCH),
    (rf"\b(?:mon|ma) {_FR_PARTNER} ne (?:me )?(?:repond|ecrit|donne|reagit)"
     r" (?:plus|pas|jamais)", C.SILENT, True),
    (rf"\b(?:pas|plus|aucune?) (?:de )?(?:nouvelles?|reponses?) de (?:mon|ma) {_FR_PARTNER}",
     C.SILENT, True),
    (r"\bquel est mon (?:statut|etat)\b", C.STATUS),
    (r"\bsuis je (?:toujours |bien )?(?:inscrit|inscrite|jumele|jumelee)", C.STATUS),
    (r"\bavez vous (?:bien )?recu ma (?:candidature|inscription)", C.STATUS),
    (r"\b(?:je|nous) {g}(?:veux|voudrais|souhaite|souhaiterais|aimerais) (?:participer a|"
     r"rejoindre|me inscrire a|me inscrire pour|continuer (?:a|avec|dans)) (?:la )?(?:prochaine"
     r"|session suivante)", C.CONTINUE),
)  # fmt: skip

_ES_OBJ = r"(?:el |este |la |esta |del |de la |de este )?(?:programa|ronda|red|mentoria|iln)"
_ES_WANT = (
    r"(?:tengo que|tenemos que|quiero|queremos|quisiera|quisieramos|deseo|deseamos|debo|"
    r"debemos|necesito|necesitamos|voy a|vamos a|me gustaria|nos gustaria|he decidido|hemos "
    r"decidido|decidi|prefiero)"
)
_ES_PARTNER = r"(?:pareja|companero|companera|mentor|mentora|binomio)"
_ES_NEW = r"(?:otra|otro|una nueva|un nuevo|nueva|nuevo|una diferente|un diferente)"

ES = _rows(
    (r"\bcomo {g}(?:pausar|pauso|hacer una pausa|poner {g}en pausa|suspender|tomar(?:me)? un "
     r"descanso)", F.PAUSE),
    (r"\b(?:es posible|se puede|seria posible) {g}(?:pausar|hacer una pausa|poner {g}en pausa|"
     r"suspender|tomar(?:me)? un descanso)", F.PAUSE),
    (rf"\bcomo {{g}}(?:cambiar|cambio|obtener|tener|pedir|conseguir) {{g}}{_ES_PARTNER}",
     F.CHANGE_PARTNER),
    (rf"\b(?:es posible|se puede|seria posible) {{g}}(?:cambiar|tener|obtener|pedir) {{g}}"
     rf"{_ES_PARTNER}", F.CHANGE_PARTNER),
    (r"\bcomo {g}(?:dejar|salir|salgo|darme de baja|me doy de baja|retirarme|me retiro|"
     r"abandonar|dejo)", F.LEAVE),
    (r"\b(?:es posible|se puede|seria posible) {g}(?:dejar|salir|retirarse|retirarme|darse de "
     r"baja|darme de baja|abandonar)", F.LEAVE),
    (r"\bque pasa si {g}(?:dejo|me retiro|me doy de baja|abandono|salgo)", F.LEAVE),
    (rf"\bquien es mi {_ES_PARTNER}", F.WHO_IS_MY_PARTNER),
    (rf"\b(?:el )?nombre de mi {_ES_PARTNER}", F.WHO_IS_MY_PARTNER),
    (r"\bcon quien (?:estoy|me toco|me emparejaron)", F.WHO_IS_MY_PARTNER),
    (r"\bcomo {g}(?:inscribirme|me inscribo|inscribirse|postular|postulo|participar|participo"
     r"|unirme|me uno|solicitar|aplicar|registrarme|me registro)", F.APPLY),
    (r"\bdonde {g}(?:encuentro|encontrar|esta|consigo|obtener|descargar|hallar) {g}formulario",
     F.APPLY),
    (r"\bformulario (?:de )?(?:inscripcion|solicitud|registro|participacion)", F.APPLY),
    (r"\b(?:una |un |mi |mis )?coleg(?:a|o|as|os) {g}(?:unirse|participar|inscribirse|"
     r"postular|sumarse)", F.APPLY),
    (r"\bno (?:he )?(?:recibi|recibido|llego|ha llegado|me llego|me ha llegado|vi|he visto) "
     r"{g}temas?\b", F.TOPIC),
    (r"\bcuando {g}(?:proximo|nuevo|siguiente|primer) tema", F.TOPIC),
    (r"\b(?:reenviar|reenvien|reenvia|volver a enviar|mandar de nuevo) {g}temas?\b", F.TOPIC),
    (r"\btemas? {g}(?:perdido|borrado|faltante|no llego)", F.TOPIC),
    (r"\bcon que frecuencia\b", F.HOW_OFTEN),
    (r"\b(?:cada cuanto|cuantas veces|con que regularidad)\b", F.HOW_OFTEN),
    (r"\b(?:borr|elimin|suprim|destru)\w* (?:todos )?(?:mis|los) (?:datos|informacion)"
     r"(?! de mi)", C.DELETE_MY_DATA),
    (r"\bya no (?:puedo|podemos|podre|podremos) (?:continuar|participar|seguir)(?: en "
     rf"{_ES_OBJ})? $", C.WITHDRAW, True),
    (rf"\b{_ES_WANT} (?:dejar|abandonar|salir(?: de)?|salirme(?: de)?|retirarme de|retirarnos de) "
     rf"{_ES_OBJ}", C.WITHDRAW),
    (rf"\b{_ES_WANT} (?:retirarme|retirarnos|darme de baja|darnos de baja)\b", C.WITHDRAW),
    (rf"\b(?:me retiro|nos retiramos|dejo|abandono|me salgo de|salgo de) {_ES_OBJ}", C.WITHDRAW),
    (r"\b(?:denme|dame|deme|darme|me doy|nos damos) de baja\b", C.WITHDRAW),
    (r"\b(?:pausen|pausar|pausa|pausar|suspendan|suspender|congelen) (?:mi|nuestra) "
     r"(?:participacion|inscripcion|pareja)", C.PAUSE),
    (r"\b(?:pongan|poner|pon|ponga|ponerme|ponganme|ponme)(?:me)? {g}en pausa", C.PAUSE),
    (rf"\b{_ES_WANT} (?:pausar|hacer una pausa|tomar(?:me)? un descanso|tomar(?:me)? una pausa"
     r"|ponerme en pausa|poner {g}en pausa|suspender (?:mi|nuestra) participacion)", C.PAUSE),
    (r"\b(?:puedo|podria|podemos|podriamos) (?:pausar|hacer una pausa|tomar(?:me)? un descanso"
     r"|tomar(?:me)? una pausa|poner(?:me)? en pausa)", C.PAUSE),
    (r"\b(?:estamos|seguimos|hemos estado|nos mantenemos) (?:en contacto|hablando|"
     r"escribiendonos|comunicados)\b", C.IN_TOUCH),
    (r"\b(?:nos escribimos|hablamos|nos hablamos|nos llamamos|nos vimos|hemos hablado|nos "
     r"hemos escrito)\b", C.IN_TOUCH),
    (r"\b(?:estoy|estamos|ya estoy|ya estamos) de (?:vuelta|regreso)\b", C.RESUME),
    (r"\b(?:he vuelto|hemos vuelto|ya volvi|ya regrese|he regresado)\b", C.RESUME),
    (r"\b(?:quiero|quisiera|puedo|me gustaria|queremos|podemos) (?:reanudar|retomar|volver a "
     r"participar|continuar de nuevo|reactivar)", C.RESUME),
    (r"\b(?:terminar|quitar|cancelar) (?:mi|nuestra) pausa", C.RESUME),
    (rf"\b(?:puedo|podria|podemos|podriamos|quiero|quisiera|queremos|necesito|deseo|me "
     rf"gustaria) {{g}}(?:cambiar de {_ES_PARTNER}|tener {_ES_NEW} {_ES_PARTNER}|{_ES_NEW} "
     rf"{_ES_PARTNER}|que me asignen {_ES_NEW} {_ES_PARTNER})", C.REMATCH),
    (rf"\bmi {_ES_PARTNER} no (?:me )?(?:responde|contesta|escribe|ha respondido|ha contestado"
     r"|ha escrito|da senales)", C.SILENT, True),
    (rf"\b(?:sin|ninguna|no tengo) (?:noticias|respuesta) de mi {_ES_PARTNER}", C.SILENT, True),
    (r"\bcual es mi (?:estado|situacion)\b", C.STATUS),
    (r"\b(?:recibieron|han recibido|recibio) mi (?:solicitud|formulario|inscripcion)",
     C.STATUS),
    (r"\b(?:estoy|sigo) (?:inscrito|inscrita|registrado|registrada)\b", C.STATUS),
    (r"\b(?:quiero|quisiera|me gustaria|deseo|queremos) (?:participar en|unirme a|inscribirme "
     r"en|continuar en|seguir en) (?:la )?(?:proxima|siguiente) ronda", C.CONTINUE),
)  # fmt: skip

PHRASES: dict[str, tuple[Row, ...]] = {"en": EN, "fr": FR, "es": ES}
# Every row's pattern at once: most sentences match none, and one search of this is ~6x
# cheaper than a search a row (~160 rows).
_ANY_ROW = re.compile("|".join(f"(?:{r.pattern.pattern})" for rs in PHRASES.values() for r in rs))

# What turns a command row off for one sentence (the FAQ rows still apply).
_NEGATION = re.compile(
    r"\b(?:not|never|no|don't|dont|doesn't|didn't|won't|wouldn't|shouldn't|can't|cannot|isn't"
    r"|aren't|ne|pas|jamais|nunca|jamas|tampoco|ni)\b"
)
_CONDITION = re.compile(
    r"^(?:if|what if|in case|suppose|should i|si (?:je|j'|on|nous|tu|vous|tengo|quiero|necesito"
    r"|debo|me|yo|dejo|tuviera|tuviese)|au cas|en cas|en caso|que pasa si|que se passe)\b"
)
_NOT_A_REQUEST = re.compile(
    r"^(?:why|did|does|has|have you|had|was|were|pourquoi|avez vous|as tu|a t on|por que"
    r"|porque|han|habeis|hab[eé]is)\b"
)


# Thanks, OK and sign-offs: a reply made only of these asks for nothing.
def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_ACK_WORDS = _words(
    """thanks thank you thx many much a lot so very ok okay great perfect noted fine good
    got it cheers best regards kind warm wishes sincerely received understood sure wonderful
    merci beaucoup bien recu parfait entendu daccord d'accord accord cordialement bonne journee
    salutations amities bises tres gracias muchas vale perfecto de acuerdo genial entendido
    saludos recibido un abrazo atentamente hello hi dear bonjour hola buenas buenos dias
    """
)
_LANG_WORDS = {
    "en": _words("the is my i to and you we how what where when who can could please"),
    "fr": _words("le la les je est mon ma nous vous et pour comment ou quand qui pas"),
    "es": _words("el la los mi es y para como donde cuando quien puedo por que yo"),
}
_SENTENCE_RE = re.compile(r"[.!?;¿¡\n]+")
_CLEAN_RE = re.compile(r"[^\w']+")
_GREETING = re.compile(
    r"^(?:hi|hello|hey|dear|good (?:morning|afternoon|evening)|bonjour|bonsoir|salut|cher|chere"
    r"|hola|buenos dias|buenas tardes|buenas|estimado|estimada|querido|querida)\b"
)


_CONTRACTIONS = (
    (re.compile(r"\b(i|we|you)'m\b"), r"\1 am"),
    (re.compile(r"\b(we|you|they)'re\b"), r"\1 are"),
    (re.compile(r"\b(i|we|you)'d\b"), r"\1 would"),
    (re.compile(r"\b(i|we|you)'ve\b"), r"\1 have"),
    (re.compile(r"\b(i|we|you)'ll\b"), r"\1 will"),
    (re.compile(r"\bcan't\b"), "cannot"),
    (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"n't\b"), " not"),
    (re.compile(r"\b(what|who|it|that)'s\b"), r"\1 is"),
    (re.compile(r"\b(qu|[jmntsdlc])'"), r"\1e "),  # j'ai -> je ai, qu'il -> que il
)


def _clean(sentence: str) -> str:
    """Folded, contractions spelt out ("I'd" -> "i would", "j'ai" -> "je ai"), hyphens and
    punctuation as spaces (apostrophes kept), single-spaced, ending with one space."""
    text = fold(sentence).replace("-", " ")
    if "'" in text:
        for pattern, full in _CONTRACTIONS:
            text = pattern.sub(full, text)
    return _CLEAN_RE.sub(" ", text).strip() + " "


def own_text(subject: str, text: str) -> str:
    """The person's own words: the Subject unless it replies to or forwards a mail (its words
    are then ours), and the body up to quoted text, an attribution or the signature."""
    parts: list[str] = []
    stripped = commands.strip_subject_prefixes(subject)
    if stripped and stripped == subject.strip():
        parts.append(stripped)
    lines = own_lines(
        text,
        skip_quoted=False,
        outlook_headers=True,
        max_chars=_MAX_CHARS * 2,
        max_lines=_MAX_LINES * 3,
    )
    for raw in lines:
        line = raw.strip()
        if line:
            parts.append(line)
        if len(parts) > _MAX_LINES:
            break
    return "\n".join(parts)[:_MAX_CHARS]


def sentences(own: str) -> list[str]:
    """The first `_MAX_SENTENCES` sentences of `own`."""
    found: list[str] = []
    for s in _SENTENCE_RE.split(own, maxsplit=_MAX_SENTENCES * 4):
        if s.strip():
            found.append(s.strip())
            if len(found) == _MAX_SENTENCES:
                break
    return found


def guess_language(own: str) -> str | None:
    """The language most of the common words belong to, or None when none stands out."""
    words = _clean(own).split()
    counts = {lang: sum(w in common for w in words) for lang, common in _LANG_WORDS.items()}
    best = max(counts, key=lambda lang: counts[lang])
    ranked = sorted(counts.values(), reverse=True)
    return best if ranked[0] > ranked[1] else None


def _acknowledgement_only(own: str) -> bool:
    words = _clean(own).split()
    if not words or len(words) > 12:
        return not words
    others = [w for w in words if w not in _ACK_WORDS]
    return len(others) <= 2 and len(others) < len(words)


@dataclass(frozen=True)
class _Found:
    target: Target
    lang: str
    sentence: str


def _match_sentence(sentence: str) -> list[_Found]:
    """The first row of any table that matches `sentence` (commands only where allowed), and,
    when it is a command, any other command the rest of the sentence asks for ("pause me, or
    maybe I should leave the program"): the caller makes two commands a question."""
    cleaned = _clean(sentence[:_MAX_SENTENCE])
    if not _ANY_ROW.search(cleaned):
        return []
    commands_ok = not (_CONDITION.match(cleaned) or _NOT_A_REQUEST.match(cleaned))
    found: list[_Found] = []
    first = (0, 0)  # the first command's span: another must lie outside it
    for lang, rows in PHRASES.items():
        for row in rows:
            if found and (not isinstance(row.target, CommandName) or row.target in _SIGNALS):
                continue
            m = row.pattern.search(cleaned)
            if m is None or (found and first[0] < m.end() and m.start() < first[1]):
                continue
            if isinstance(row.target, CommandName) and row.target not in _ASKING:
                if not commands_ok:
                    continue
                if not row.negation_ok and _NEGATION.search(cleaned[: m.end()]):
                    continue
            if not found:
                found.append(_Found(row.target, lang, sentence))
                if not isinstance(row.target, CommandName):
                    return found
                first = m.span()
            elif row.target is not found[0].target:
                found.append(_Found(row.target, lang, sentence))
                return found
    return found


def _pick(found: list[_Found]) -> _Found | list[_Found] | None:
    """One command wins over FAQ; signals give way to other commands; two commands: None-ish
    (the caller makes it a question). FAQ: the first one asked."""
    cmds = [f for f in found if isinstance(f.target, CommandName)]
    strong = [f for f in cmds if f.target not in _SIGNALS] or cmds
    if strong:
        names = {f.target for f in strong}
        return strong[0] if len(names) == 1 else strong
    faqs = [f for f in found if isinstance(f.target, FaqTopic)]
    return faqs[0] if faqs else None


def _pause_from(
    cmd: Command, where: list[str], today: date | None, keyword: bool
) -> Command | None:
    """PAUSE with the span its own line gives, else the first one in `where`; None when an
    "until" cannot be read (never a silent 14 days)."""
    own_line = cmd.text.split(None, 1)[1] if keyword and len(cmd.text.split()) > 1 else ""
    if keyword and commands.find_pause_span(own_line, today) is not None:
        return cmd
    for sentence in where:
        span = commands.find_pause_span(sentence, today)
        if span is None:
            continue
        if span.days is None:
            return None
        args: dict[str, object] = {k: v for k, v in cmd.args.items() if k == "address"}
        args["days"] = span.days
        if span.until is not None:
            args["until"] = span.until.isoformat()
        return replace(cmd, args=args)
    if keyword:
        return cmd
    return replace(cmd, args={"days": commands.DEFAULT_PAUSE_DAYS})


def read_intent(subject: str, text: str, *, today: date | None = None) -> Intent:
    """What the mail asks for (see the module docstring for the order of the rules)."""
    keyword = commands.parse_command(subject, text, today=today)
    return intent_with(subject, text, keyword, today=today)


def intent_with(
    subject: str, text: str, keyword: Command | None, *, today: date | None = None
) -> Intent:
    """`read_intent` for a caller that has read the keyword command already
    (`commands.parse_command` of the same subject, text and day)."""
    own = own_text(subject, text)
    parts = sentences(own)
    if keyword is not None:
        lang = guess_language(own)
        if keyword.name is CommandName.PAUSE and "address" not in keyword.args:
            rest = [s for s in parts if fold(s) != fold(keyword.text)]
            paused = _pause_from(keyword, rest, today, keyword=True)
            if paused is None:
                return Intent(IntentKind.QUESTION, lang=lang, text=own)
            keyword = paused
        return Intent(IntentKind.COMMAND, command=keyword, lang=lang, text=keyword.text)
    found = [f for s in parts for f in _match_sentence(s)]
    picked = _pick(found)
    if isinstance(picked, list):  # two different commands: a person decides
        return Intent(IntentKind.QUESTION, lang=picked[0].lang, text=own)
    if picked is not None and isinstance(picked.target, CommandName):
        cmd = Command(
            name=picked.target,
            args={},
            source="subject" if picked.sentence in subject else "body",
            text=picked.sentence,
            sentence=True,
        )
        if cmd.name is CommandName.PAUSE:
            later = parts[parts.index(picked.sentence) :]
            paused = _pause_from(cmd, later, today, keyword=False)
            if paused is None:
                return Intent(IntentKind.QUESTION, lang=picked.lang, text=own)
            cmd = paused
        return Intent(IntentKind.COMMAND, command=cmd, lang=picked.lang, text=picked.sentence)
    if picked is not None and isinstance(picked.target, FaqTopic):
        return Intent(IntentKind.FAQ, faq=picked.target, lang=picked.lang, text=picked.sentence)
    if not own.strip() or _acknowledgement_only(own) or survey.parse_survey_answer(text):
        return Intent(IntentKind.NONE, lang=guess_language(own), text=own)
    return Intent(IntentKind.QUESTION, lang=guess_language(own), text=own)
