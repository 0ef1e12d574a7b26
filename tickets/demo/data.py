"""The fixed material of the demo data: people, places, catalogue and texts.

Everything here is plain data; ``tickets.demo.reference`` turns it into rows
and ``tickets.demo.timeline`` into tickets. Names of places and streets are
real or plausible; companies, people, documents and phone numbers are made up
(documents carry valid check digits). E-mail addresses use reserved example
domains so a demo database can never mail a real person.
"""

from dataclasses import dataclass

DEMO_PASSWORD = "demo1234"  # noqa: S105 - the published demo password

# Operators: username, first name, last name, role.
ADMIN = ("admin", "Renata", "Oliveira Campos")
SUPERVISORS = [
    ("supervisor", "Marcos Vinícius", "Almeida"),
    ("supervisora2", "Patrícia", "Gomes de Souza"),
]
AGENTS = [
    ("agente", "Ana Paula", "Ferreira"),
    ("agente2", "Bruno", "Carvalho"),
    ("agente3", "Juliana", "Santos Moreira"),
    ("agente4", "Rafael", "Lima"),
    ("agente5", "Camila", "Rocha"),
    ("agente6", "Thiago", "Nascimento"),
    ("agente7", "Fernanda", "Ribeiro"),
    ("agente8", "Lucas", "Martins Barbosa"),
]
STAFF_EMAIL_DOMAIN = "fibraviva.example.com"

# Teams: name, members, supervisor. The first supervisor watches the two
# support levels, the second the rest; "agente" is in the first team.
TEAMS = [
    ("Suporte N1", ["agente", "agente2", "agente3"], "supervisor"),
    ("Suporte N2", ["agente4", "agente5", "agente3"], "supervisor"),
    ("Financeiro", ["agente6", "agente2"], "supervisora2"),
    ("Instalação", ["agente7", "agente5"], "supervisora2"),
    ("Comercial e Retenção", ["agente8", "agente6"], "supervisora2"),
]

# Companies (branches). Two share the CNPJ root, as branches do; the third has
# an alphanumeric CNPJ (issued from July 2026). Base = the first 12 characters.
COMPANIES = [
    ("Fibra Viva Telecom Ltda - Matriz", "314567890001", "São Paulo", "SP"),
    ("Fibra Viva Telecom Ltda - Filial Campinas", "314567890002", "Campinas", "SP"),
    ("Fibra Viva Sul Telecomunicações S.A.", "A7K3Q9Z20001", "Curitiba", "PR"),
]
# Which branch serves a customer, by customer city.
COMPANY_BY_CITY = {
    "São Paulo": 0,
    "Belo Horizonte": 0,
    "Recife": 0,
    "Fortaleza": 0,
    "Campinas": 1,
    "Curitiba": 2,
    "Porto Alegre": 2,
}

# City, UF, area code, weight, neighbourhoods: (name, CEP prefixes, streets).
CITIES = [
    (
        "São Paulo",
        "SP",
        "11",
        30,
        [
            (
                "Pinheiros",
                ["05422", "05426", "05433", "05435"],
                [
                    "Rua dos Pinheiros",
                    "Rua Teodoro Sampaio",
                    "Rua Cardeal Arcoverde",
                    "Rua Fradique Coutinho",
                    "Rua Mourato Coelho",
                    "Rua Artur de Azevedo",
                ],
            ),
            (
                "Mooca",
                ["03103", "03108", "03164", "03182"],
                [
                    "Rua da Mooca",
                    "Rua Juventus",
                    "Rua Taquari",
                    "Rua Javari",
                    "Avenida Paes de Barros",
                    "Rua dos Trilhos",
                ],
            ),
            (
                "Tatuapé",
                ["03306", "03310", "03318", "03334"],
                [
                    "Rua Tuiuti",
                    "Rua Itapura",
                    "Rua Serra de Bragança",
                    "Rua Azevedo Soares",
                    "Rua Emília Marengo",
                    "Rua Apucarana",
                ],
            ),
            (
                "Vila Mariana",
                ["04010", "04014", "04101", "04117"],
                [
                    "Rua Domingos de Morais",
                    "Rua Joaquim Távora",
                    "Rua França Pinto",
                    "Rua Sena Madureira",
                    "Rua Capitão Macedo",
                ],
            ),
            (
                "Santana",
                ["02011", "02012", "02019", "02035"],
                [
                    "Rua Voluntários da Pátria",
                    "Rua Doutor César",
                    "Avenida Cruzeiro do Sul",
                    "Rua Alfredo Pujol",
                    "Rua Leite de Morais",
                ],
            ),
        ],
    ),
    (
        "Campinas",
        "SP",
        "19",
        12,
        [
            (
                "Barão Geraldo",
                ["13083", "13084"],
                [
                    "Avenida Albino José Barbosa de Oliveira",
                    "Rua Roxo Moreira",
                    "Avenida Santa Isabel",
                    "Rua Eduardo Modesto",
                    "Rua Benedito Alves Aranha",
                ],
            ),
            (
                "Cambuí",
                ["13024", "13025"],
                [
                    "Rua Coronel Quirino",
                    "Rua Maria Monteiro",
                    "Rua Conceição",
                    "Avenida Júlio de Mesquita",
                    "Rua Doutor Emílio Ribas",
                ],
            ),
            (
                "Taquaral",
                ["13075", "13076"],
                [
                    "Avenida Doutor Heitor Penteado",
                    "Rua Dom Lino Deodato",
                    "Rua Doutor Alves do Banho",
                ],
            ),
        ],
    ),
    (
        "Belo Horizonte",
        "MG",
        "31",
        14,
        [
            (
                "Savassi",
                ["30112", "30130", "30140"],
                [
                    "Rua Pernambuco",
                    "Avenida Getúlio Vargas",
                    "Rua Antônio de Albuquerque",
                    "Rua Paraíba",
                    "Rua Sergipe",
                    "Avenida Cristóvão Colombo",
                ],
            ),
            (
                "Pampulha",
                ["31270", "31275", "31365"],
                [
                    "Avenida Otacílio Negrão de Lima",
                    "Avenida Fleming",
                    "Rua Desembargador Alves Ferreira",
                    "Avenida Antônio Carlos",
                ],
            ),
            (
                "Funcionários",
                ["30130", "30140"],
                ["Rua Gonçalves Dias", "Rua Alagoas", "Avenida Brasil", "Rua Tomé de Souza"],
            ),
        ],
    ),
    (
        "Curitiba",
        "PR",
        "41",
        14,
        [
            (
                "Batel",
                ["80420", "80440"],
                [
                    "Avenida do Batel",
                    "Rua Bispo Dom José",
                    "Alameda Dom Pedro II",
                    "Rua Comendador Araújo",
                    "Avenida Vicente Machado",
                ],
            ),
            (
                "Água Verde",
                ["80240", "80250"],
                [
                    "Avenida República Argentina",
                    "Rua Brasílio Itiberê",
                    "Avenida Água Verde",
                    "Rua Coronel Dulcídio",
                    "Rua Guilherme Pugsley",
                ],
            ),
            (
                "Centro",
                ["80010", "80020", "80060"],
                [
                    "Rua XV de Novembro",
                    "Rua Marechal Deodoro",
                    "Rua Emiliano Perneta",
                    "Rua Voluntários da Pátria",
                ],
            ),
        ],
    ),
    (
        "Porto Alegre",
        "RS",
        "51",
        10,
        [
            (
                "Moinhos de Vento",
                ["90570"],
                [
                    "Rua Padre Chagas",
                    "Rua Dinarte Ribeiro",
                    "Rua Mostardeiro",
                    "Rua Florêncio Ygartua",
                    "Rua Quintino Bocaiúva",
                ],
            ),
            (
                "Cidade Baixa",
                ["90050"],
                [
                    "Rua da República",
                    "Rua João Alfredo",
                    "Rua Lima e Silva",
                    "Rua José do Patrocínio",
                ],
            ),
            (
                "Menino Deus",
                ["90130"],
                [
                    "Avenida Getúlio Vargas",
                    "Rua José de Alencar",
                    "Rua Botafogo",
                    "Avenida Praia de Belas",
                ],
            ),
        ],
    ),
    (
        "Recife",
        "PE",
        "81",
        10,
        [
            (
                "Boa Viagem",
                ["51020", "51021", "51030"],
                [
                    "Avenida Boa Viagem",
                    "Rua Barão de Souza Leão",
                    "Avenida Conselheiro Aguiar",
                    "Rua dos Navegantes",
                    "Avenida Domingos Ferreira",
                ],
            ),
            (
                "Casa Forte",
                ["52060", "52061"],
                [
                    "Avenida Dezessete de Agosto",
                    "Estrada do Encanamento",
                    "Rua Dona Olegarinha da Cunha",
                ],
            ),
            (
                "Graças",
                ["52050", "52011"],
                ["Rua das Graças", "Rua Amélia", "Avenida Rui Barbosa", "Rua Joaquim Nabuco"],
            ),
        ],
    ),
    (
        "Fortaleza",
        "CE",
        "85",
        10,
        [
            (
                "Aldeota",
                ["60150", "60140"],
                [
                    "Avenida Santos Dumont",
                    "Rua Silva Paulet",
                    "Avenida Dom Luís",
                    "Rua Tibúrcio Cavalcante",
                    "Rua Vicente Linhares",
                ],
            ),
            (
                "Meireles",
                ["60160", "60165"],
                [
                    "Avenida Beira Mar",
                    "Rua Tenente Benévolo",
                    "Avenida Abolição",
                    "Rua Canuto de Aguiar",
                ],
            ),
            (
                "Benfica",
                ["60020", "60055"],
                ["Avenida da Universidade", "Avenida Carapinima", "Rua Marechal Deodoro"],
            ),
        ],
    ),
]

CONDOMINIUMS = [
    "Condomínio Residencial Jardim das Flores",
    "Condomínio Edifício Solar das Palmeiras",
    "Condomínio Parque das Águas",
    "Residencial Bela Vista",
    "Edifício Mirante do Vale",
    "Condomínio Vila Verde",
    "Residencial Ipê Amarelo",
    "Condomínio Portal dos Pássaros",
    "Edifício Maison Lumière",
    "Residencial Recanto das Árvores",
]

FIRST_NAMES = [
    "Ana",
    "Maria",
    "Francisca",
    "Antônia",
    "Adriana",
    "Juliana",
    "Márcia",
    "Fernanda",
    "Patrícia",
    "Aline",
    "Sandra",
    "Camila",
    "Amanda",
    "Bruna",
    "Jéssica",
    "Letícia",
    "Júlia",
    "Luciana",
    "Vanessa",
    "Mariana",
    "Gabriela",
    "Beatriz",
    "Larissa",
    "Débora",
    "Tatiane",
    "Cláudia",
    "Renata",
    "Raquel",
    "Simone",
    "Helena",
    "José",
    "João",
    "Antônio",
    "Francisco",
    "Carlos",
    "Paulo",
    "Pedro",
    "Lucas",
    "Luiz",
    "Marcos",
    "Luís",
    "Gabriel",
    "Rafael",
    "Daniel",
    "Marcelo",
    "Bruno",
    "Eduardo",
    "Felipe",
    "Raimundo",
    "Rodrigo",
    "Manoel",
    "Mateus",
    "André",
    "Fernando",
    "Fábio",
    "Leonardo",
    "Gustavo",
    "Guilherme",
    "Thiago",
    "Vinícius",
    "Diego",
    "Otávio",
    "Caio",
    "Heitor",
    "Davi",
    "Enzo",
    "Arthur",
    "Sebastião",
    "Jorge",
    "Sérgio",
]
LAST_NAMES = [
    "Silva",
    "Santos",
    "Oliveira",
    "Souza",
    "Rodrigues",
    "Ferreira",
    "Alves",
    "Pereira",
    "Lima",
    "Gomes",
    "Costa",
    "Ribeiro",
    "Martins",
    "Carvalho",
    "Almeida",
    "Lopes",
    "Soares",
    "Fernandes",
    "Vieira",
    "Barbosa",
    "Rocha",
    "Dias",
    "Nascimento",
    "Andrade",
    "Moreira",
    "Nunes",
    "Marques",
    "Machado",
    "Mendes",
    "Freitas",
    "Cardoso",
    "Ramos",
    "Gonçalves",
    "Santana",
    "Teixeira",
    "Araújo",
    "Pinto",
    "Cavalcanti",
    "Monteiro",
    "Correia",
    "Batista",
    "Campos",
    "Rezende",
    "Siqueira",
    "Bezerra",
    "Xavier",
    "Moura",
    "Tavares",
    "Brito",
]
BUSINESS_PREFIXES = [
    "Padaria",
    "Mercado",
    "Farmácia",
    "Auto Peças",
    "Clínica Odontológica",
    "Escritório de Contabilidade",
    "Pet Shop",
    "Restaurante",
    "Academia",
    "Papelaria",
    "Ótica",
    "Oficina Mecânica",
    "Salão de Beleza",
    "Distribuidora",
    "Construtora",
    "Lanchonete",
    "Hortifruti",
    "Escola de Idiomas",
    "Imobiliária",
    "Pousada",
]
BUSINESS_NAMES = [
    "Pão Dourado",
    "Bom Preço",
    "São Jorge",
    "Santa Luzia",
    "Estrela",
    "Boa Vista",
    "Primavera",
    "Central",
    "Nova Era",
    "Sol Nascente",
    "Ipiranga",
    "Bela Vista",
    "Aurora",
    "Horizonte",
    "Girassol",
    "Progresso",
    "Vitória",
    "Esperança",
    "Jardim",
    "Paraíso",
    "Real",
    "União",
    "Três Irmãos",
    "Dois Corações",
]
BUSINESS_SUFFIXES = ["Ltda", "ME", "EIRELI", "Ltda - ME", "S.A.", "Comércio Ltda"]
EMAIL_DOMAINS = ["example.com", "example.net", "example.org", "mail.example.com"]

REQUEST_TYPES = ["Incidente", "Requisição", "Reclamação", "Informação"]

CATALOG_ITEMS = [
    ("Internet Fibra", "Conexão de internet por fibra óptica (FTTH)."),
    ("Wi-Fi e roteador", "Rede sem fio, roteador e equipamentos do cliente."),
    ("Telefonia VoIP", "Linha fixa sobre IP."),
    ("Instalação e ativação", "Viabilidade, agendamento e instalação de novos pontos."),
    ("Cobrança e faturas", "Boletos, faturas, negociação e desbloqueio."),
    ("Planos e contratos", "Mudança de plano, informações comerciais e contratos."),
    (
        "Cancelamento de contrato",
        "Pedidos de cancelamento, retenção e recolhimento de equipamentos.",
    ),
]

# Processes: name, description, subprocesses (name, expected hours), and the
# service order (O.S.) rule: (index of the stage that creates it, index of the
# stage whose end completes it), or None when the process has no field work.
PROCESSES = [
    (
        "Suporte Técnico",
        "Atendimento remoto de problemas e dúvidas técnicas.",
        [("Triagem", 1), ("Atendimento remoto", 4), ("Retorno ao cliente", 8)],
        None,
    ),
    (
        "Ativação / Instalação Fibra",
        "Da venda à ativação de um novo ponto de fibra.",
        [
            ("Análise de viabilidade", 4),
            ("Agendamento da instalação", 24),
            ("Instalação em campo", 48),
            ("Validação do serviço", 8),
        ],
        (1, 2),
    ),
    (
        "Manutenção / Fibra",
        "Falhas na rede óptica ou no equipamento do cliente.",
        [("Diagnóstico remoto", 2), ("Visita técnica", 24), ("Reparo", 8)],
        (1, 2),
    ),
    (
        "Financeiro",
        "Cobrança, faturas e negociação de débitos.",
        [("Análise", 8), ("Negociação", 24)],
        None,
    ),
    (
        "Cancelamento",
        "Pedidos de cancelamento: retenção e recolhimento do equipamento.",
        [("Retenção", 24), ("Recolhimento de equipamento", 72)],
        (1, 1),
    ),
    (
        "Comercial",
        "Mudanças de plano e contrato.",
        [("Contato comercial", 4), ("Alteração contratual", 24)],
        None,
    ),
]

OPENING_CLASSIFICATIONS = [
    ("Primeiro contato", 60),
    ("Reincidência", 14),
    ("Urgente - cliente sem serviço", 10),
    ("Solicitação por canal digital", 12),
    ("Cliente corporativo", 0),  # used for CNPJ customers
]
CORPORATE_CLASSIFICATION = "Cliente corporativo"

# Closing classifications by process and by how many stages were done
# (the key is the index of the last finished stage).
CLOSING_BY_PROCESS = {
    "Suporte Técnico": {
        0: ["Orientação ao cliente", "Improcedente"],
        1: ["Resolvido remotamente", "Orientação ao cliente"],
        2: ["Resolvido remotamente", "Sem contato com o cliente"],
    },
    "Ativação / Instalação Fibra": {
        0: ["Inviabilidade técnica", "Desistência do cliente"],
        3: ["Instalação concluída"],
    },
    "Manutenção / Fibra": {
        0: ["Resolvido remotamente"],
        2: [
            "Resolvido com visita técnica",
            "Falha na rede externa corrigida",
            "Equipamento substituído",
        ],
    },
    "Financeiro": {
        0: ["Segunda via enviada", "Improcedente", "Desbloqueio em confiança concedido"],
        1: ["Acordo financeiro realizado", "Cobrança ajustada", "Sem contato com o cliente"],
    },
    "Cancelamento": {
        0: ["Cliente retido", "Cliente retido com desconto"],
        1: ["Contrato cancelado"],
    },
    "Comercial": {
        0: ["Orientação ao cliente", "Desistência do cliente"],
        1: ["Plano alterado"],
    },
}


@dataclass(frozen=True)
class KindSpec:
    path: str
    type: str
    catalog: str
    process: str
    team: str
    weight: float
    stops: list[float]
    reports: list[str]
    origin: str | None = None


# The kinds of request the demo opens. ``stops``: weight of closing right
# after stage 0, 1, ... of the process (zeros skip a stage as an ending).
# reports: what the customer said ("Relato do cliente").
KINDS = [
    KindSpec(
        path="Suporte Técnico / Internet Fibra / Sem conexão / LOS vermelho / ONU",
        type="Incidente",
        catalog="Internet Fibra",
        process="Manutenção / Fibra",
        team="Suporte N2",
        weight=9,
        stops=[0.25, 0, 0.75],
        reports=[
            "Cliente sem internet desde a manhã; luz LOS vermelha piscando na ONU.",
            "ONU com LED LOS aceso em vermelho após queda de energia. Cliente já reiniciou o equipamento.",
            "Sem conexão. Cliente informa luz vermelha na ONU e PON apagado.",
        ],
    ),
    KindSpec(
        path="Suporte Técnico / Internet Fibra / Sem conexão / LOS vermelho / Drop óptico",
        type="Incidente",
        catalog="Internet Fibra",
        process="Manutenção / Fibra",
        team="Suporte N2",
        weight=4,
        stops=[0.1, 0, 0.9],
        reports=[
            "Cliente relata que um caminhão arrancou o cabo da fibra na frente da casa.",
            "Drop óptico rompido após poda de árvore na rua. LOS vermelho na ONU.",
        ],
    ),
    KindSpec(
        path="Suporte Técnico / Internet Fibra / Sem conexão / Sem autenticação PPPoE",
        type="Incidente",
        catalog="Internet Fibra",
        process="Suporte Técnico",
        team="Suporte N1",
        weight=6,
        stops=[0.35, 0.5, 0.15],
        reports=[
            "ONU com sinal normal, mas o roteador não autentica (erro 691).",
            "Cliente trocou o roteador e ficou sem internet; PPPoE não conecta.",
        ],
    ),
    KindSpec(
        path="Suporte Técnico / Internet Fibra / Quedas frequentes",
        type="Incidente",
        catalog="Internet Fibra",
        process="Manutenção / Fibra",
        team="Suporte N2",
        weight=6,
        stops=[0.55, 0, 0.45],
        reports=[
            "Conexão cai várias vezes ao dia, principalmente à noite.",
            "Internet oscilando desde ontem; quedas de poucos minutos a cada hora.",
        ],
    ),
    KindSpec(
        path="Suporte Técnico / Internet Fibra / Lentidão / Wi-Fi",
        type="Incidente",
        catalog="Wi-Fi e roteador",
        process="Suporte Técnico",
        team="Suporte N1",
        weight=9,
        stops=[0.35, 0.5, 0.15],
        reports=[
            "Internet lenta nos quartos; no cabo a velocidade está normal.",
            "Velocidade contratada de 500 Mega, mas no celular chega a 40 Mega.",
            "Wi-Fi fraco no andar de cima da casa.",
        ],
    ),
    KindSpec(
        path="Suporte Técnico / Internet Fibra / Lentidão / Wi-Fi",
        type="Reclamação",
        catalog="Wi-Fi e roteador",
        process="Suporte Técnico",
        team="Suporte N1",
        weight=2,
        stops=[0.2, 0.5, 0.3],
        reports=["Terceira vez que reclama de lentidão no Wi-Fi neste mês; pede visita."],
    ),
    KindSpec(
        path="Suporte Técnico / Internet Fibra / Lentidão / Perda de pacotes",
        type="Reclamação",
        catalog="Internet Fibra",
        process="Suporte Técnico",
        team="Suporte N1",
        weight=3,
        stops=[0.2, 0.5, 0.3],
        reports=[
            "Jogos online com ping alto e perda de pacotes no horário de pico.",
            "Chamadas de vídeo travando; teste mostra perda de pacotes.",
        ],
    ),
    KindSpec(
        path="Suporte Técnico / Roteador / Troca de senha Wi-Fi",
        type="Requisição",
        catalog="Wi-Fi e roteador",
        process="Suporte Técnico",
        team="Suporte N1",
        weight=5,
        stops=[0.7, 0.3, 0],
        reports=[
            "Cliente quer trocar o nome e a senha da rede Wi-Fi.",
            "Esqueceu a senha do Wi-Fi e pede a troca.",
        ],
    ),
    KindSpec(
        path="Suporte Técnico / Roteador / Liberação de portas",
        type="Requisição",
        catalog="Wi-Fi e roteador",
        process="Suporte Técnico",
        team="Suporte N1",
        weight=2,
        stops=[0.3, 0.7, 0],
        reports=["Precisa liberar portas para as câmeras de segurança (DVR)."],
    ),
    KindSpec(
        path="Suporte Técnico / Telefonia VoIP / Sem linha",
        type="Incidente",
        catalog="Telefonia VoIP",
        process="Suporte Técnico",
        team="Suporte N1",
        weight=2,
        stops=[0.2, 0.6, 0.2],
        reports=["Telefone fixo sem linha; internet funcionando normalmente."],
    ),
    KindSpec(
        path="Comercial / Ativação / Instalação Fibra",
        type="Requisição",
        catalog="Instalação e ativação",
        process="Ativação / Instalação Fibra",
        team="Instalação",
        weight=8,
        stops=[0.08, 0, 0, 0.92],
        reports=[
            "Novo cliente: plano 500 Mega, instalação residencial.",
            "Contratação do plano 1 Giga; cliente prefere instalação pela manhã.",
            "Contratação pelo site; confirmar viabilidade no endereço.",
        ],
    ),
    KindSpec(
        path="Comercial / Ativação / Instalação Fibra / Condomínio",
        type="Requisição",
        catalog="Instalação e ativação",
        process="Ativação / Instalação Fibra",
        team="Instalação",
        weight=3,
        stops=[0.15, 0, 0, 0.85],
        reports=[
            "Instalação em apartamento; síndico precisa autorizar a passagem do cabo.",
            "Condomínio já cabeado; cliente pede ativação no apartamento.",
        ],
    ),
    KindSpec(
        path="Comercial / Mudança de endereço / Transferência de ponto",
        type="Requisição",
        catalog="Instalação e ativação",
        process="Ativação / Instalação Fibra",
        team="Instalação",
        weight=2,
        stops=[0.1, 0, 0, 0.9],
        reports=["Cliente vai se mudar e quer levar a internet para o novo endereço."],
    ),
    KindSpec(
        path="Comercial / Mudança de plano / Upgrade",
        type="Requisição",
        catalog="Planos e contratos",
        process="Comercial",
        team="Comercial e Retenção",
        weight=4,
        stops=[0.2, 0.8],
        reports=[
            "Quer aumentar o plano para 1 Giga.",
            "Pede upgrade para o plano com streaming incluso.",
        ],
    ),
    KindSpec(
        path="Comercial / Mudança de plano / Downgrade",
        type="Requisição",
        catalog="Planos e contratos",
        process="Comercial",
        team="Comercial e Retenção",
        weight=2,
        stops=[0.3, 0.7],
        reports=["Quer reduzir o plano para economizar."],
    ),
    KindSpec(
        path="Comercial / Informações sobre planos",
        type="Informação",
        catalog="Planos e contratos",
        process="Comercial",
        team="Comercial e Retenção",
        weight=3,
        stops=[0.9, 0.1],
        reports=[
            "Pergunta os planos disponíveis para empresas.",
            "Quer saber se há fidelidade no plano atual.",
        ],
    ),
    KindSpec(
        path="Financeiro / Segunda via de boleto",
        type="Requisição",
        catalog="Cobrança e faturas",
        process="Financeiro",
        team="Financeiro",
        weight=10,
        stops=[0.9, 0.1],
        reports=["Solicita a segunda via do boleto deste mês.", "Não recebeu a fatura por e-mail."],
    ),
    KindSpec(
        path="Financeiro / Contestação de cobrança",
        type="Reclamação",
        catalog="Cobrança e faturas",
        process="Financeiro",
        team="Financeiro",
        weight=4,
        stops=[0.4, 0.6],
        reports=[
            "Cobrança em duplicidade na fatura.",
            "Cobrado por dias em que ficou sem internet.",
        ],
    ),
    KindSpec(
        path="Financeiro / Negociação de débito",
        type="Requisição",
        catalog="Cobrança e faturas",
        process="Financeiro",
        team="Financeiro",
        weight=4,
        stops=[0.2, 0.8],
        reports=[
            "Duas faturas em atraso; quer parcelar.",
            "Pede negociação para evitar o bloqueio.",
        ],
    ),
    KindSpec(
        path="Financeiro / Desbloqueio em confiança",
        type="Requisição",
        catalog="Cobrança e faturas",
        process="Financeiro",
        team="Financeiro",
        weight=3,
        stops=[0.85, 0.15],
        reports=["Conexão bloqueada por atraso; pagou hoje e pede desbloqueio em confiança."],
    ),
    KindSpec(
        path="Cancelamento / Mudança de endereço",
        type="Requisição",
        catalog="Cancelamento de contrato",
        process="Cancelamento",
        team="Comercial e Retenção",
        weight=3,
        stops=[0.3, 0.7],
        reports=["Vai se mudar para uma cidade sem cobertura e pede o cancelamento."],
    ),
    KindSpec(
        path="Cancelamento / Insatisfação com o serviço",
        type="Reclamação",
        catalog="Cancelamento de contrato",
        process="Cancelamento",
        team="Comercial e Retenção",
        weight=2,
        stops=[0.45, 0.55],
        reports=["Insatisfeito com as quedas; quer cancelar.", "Recebeu oferta de outro provedor."],
    ),
    KindSpec(
        path="Cancelamento / Motivos financeiros",
        type="Requisição",
        catalog="Cancelamento de contrato",
        process="Cancelamento",
        team="Comercial e Retenção",
        weight=1.5,
        stops=[0.5, 0.5],
        reports=["Desempregado; não consegue mais pagar o plano."],
    ),
    KindSpec(
        path="Ouvidoria / Reclame Aqui",
        type="Reclamação",
        catalog="Internet Fibra",
        process="Suporte Técnico",
        team="Suporte N1",
        weight=1.5,
        stops=[0.2, 0.4, 0.4],
        origin="reclame_aqui",
        reports=[
            "Reclamação publicada no Reclame Aqui sobre demora no atendimento.",
            "Cliente reclama no Reclame Aqui de cobrança após cancelamento.",
        ],
    ),
]

# Origem do contato weights (Origin values); "reclame_aqui" also comes from
# its own kind.
ORIGIN_WEIGHTS = {
    "whatsapp": 24,
    "phone": 20,
    "live_chat": 7,
    "email": 6,
    "site": 5,
    "bot": 8,
    "sac": 4,
    "in_person": 3,
    "technician": 2,
    "crm": 2,
    "facebook": 2,
    "instagram": 3,
    "messenger": 1.5,
    "telegram": 1.5,
    "sms": 1,
    "monitoring": 2,
    "reclame_aqui": 0.5,
    "other": 1,
}
# Origins where the operator who answers keeps the ticket from the start.
LIVE_ORIGINS = {"phone", "in_person", "sac"}

OPENING_COMMENTS = [
    "Cliente atendido por telefone; dados cadastrais confirmados.",
    "Cliente informou o melhor horário para contato: à tarde.",
    "Cliente já havia ligado ontem pelo mesmo motivo.",
    "Contato iniciado pelo WhatsApp; cliente enviou foto do equipamento.",
    "Verificado no sistema: contrato ativo e sem pendências.",
]
WORK_COMMENTS = [
    "Contato realizado com o cliente, aguardando retorno.",
    "Cliente orientado a reiniciar a ONU e o roteador.",
    "Sinal óptico verificado remotamente: -19 dBm, dentro do padrão.",
    "Sinal óptico fora do padrão (-28 dBm); necessário visita técnica.",
    "Tentativa de contato sem sucesso; deixado recado no WhatsApp.",
    "Cliente pediu retorno após as 18h.",
    "Reconfigurado o canal do Wi-Fi para reduzir interferência.",
    "Enviado link para teste de velocidade; resultado dentro do contratado.",
    "Técnico a caminho do endereço.",
    "Aguardando autorização do condomínio para passagem de cabo.",
    "Boleto atualizado enviado por e-mail.",
    "Proposta de desconto de 30% por 3 meses apresentada ao cliente.",
    "Equipamento em comodato; agendar recolhimento.",
    "Encaminhado ao N2 para análise da OLT.",
]
FINALIZE_COMMENTS = [
    "Atendimento concluído; cliente confirmou o funcionamento.",
    "Problema resolvido; cliente satisfeito.",
    "Finalizado conforme solicitação do cliente.",
    "Cliente não retornou os contatos; atendimento encerrado.",
    "Serviço validado com teste de velocidade junto ao cliente.",
    "Solicitação atendida e registrada no contrato.",
]
SERVICE_ORDER_TEXT = {
    "Ativação / Instalação Fibra": "Instalação de ponto de fibra óptica (FTTH) e configuração do roteador.",
    "Manutenção / Fibra": "Visita técnica: verificar drop óptico, conectores e ONU.",
    "Cancelamento": "Recolhimento de ONU e roteador em comodato.",
}
OUTAGES = [
    "OLT Pinheiros PON 3",
    "OLT Mooca slot 2",
    "CTO Savassi 14",
    "Backbone Campinas-Sumaré",
    "OLT Batel PON 7",
    "CTO Boa Viagem 22",
]
